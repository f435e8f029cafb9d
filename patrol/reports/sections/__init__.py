"""One module per report section; each turns `ReportInputs` into a `Section` (and candidate findings)."""
