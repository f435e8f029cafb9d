// The console's only script (the CSP allows no other): live queue, ticking timers, keyboard shortcuts.
// It never inserts crawled text itself: refreshed rows are server-rendered, escaped HTML.
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function durationText(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) { return d + "d " + h + "h"; }
    if (h) { return h + "h " + pad(m) + "m"; }
    return m + "m " + pad(s % 60) + "s";
  }

  // Timers count against the server's clock, not the officer's PC: the offset is taken from the time
  // the server says it rendered the page (and each refreshed fragment).
  var clockOffset = 0;

  function syncClock(el) {
    var said = el && Date.parse(el.getAttribute("data-server-now"));
    if (said) { clockOffset = said - Date.now(); }
  }

  function tickTimers() {
    var now = Date.now() + clockOffset;
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) { return; }
      var left = due - now;
      var label = el.getAttribute("data-label") || "";
      el.textContent = label + ": " + (left >= 0 ? durationText(left) + " left" : "overdue " + durationText(left));
      el.classList.remove("sla-ok", "sla-soon", "sla-breached");
      el.classList.add(left <= 0 ? "sla-breached" : (left <= 5 * 60 * 1000 ? "sla-soon" : "sla-ok"));
    });
  }

  // -- queue -----------------------------------------------------------------------------------
  var selected = null;

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr.item-row")); }

  function select(row) {
    if (selected) { selected.classList.remove("selected"); }
    selected = row;
    if (row) {
      row.classList.add("selected");
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = selected ? all.indexOf(selected) : -1;
    index = Math.max(0, Math.min(all.length - 1, index + step));
    select(all[index]);
  }

  function updatePicked() {
    var count = document.querySelectorAll("input.pick:checked").length;
    var el = document.getElementById("picked-count");
    if (el) { el.textContent = String(count); }
  }

  function busy(container) {
    // Do not replace rows under someone's hands: a focused field or typed text pauses the refresh.
    var active = document.activeElement;
    if (active && container.contains(active) && active.matches("input, select, textarea, button")) { return true; }
    return Array.prototype.some.call(container.querySelectorAll("input[type=text]"), function (i) { return i.value; });
  }

  var knownLifeSafety = null;

  function noteLifeSafety(tbody) {
    var ids = Array.prototype.map.call(tbody.querySelectorAll("tr.life-safety"), function (r) {
      return r.getAttribute("data-item-id");
    });
    if (knownLifeSafety !== null) {
      var fresh = ids.filter(function (id) { return knownLifeSafety.indexOf(id) < 0; });
      if (fresh.length) {
        document.title = "⚠ " + fresh.length + " new life-safety · " + document.title.replace(/^⚠ \d+ new life-safety · /, "");
        var live = document.getElementById("live-state");
        if (live) { live.textContent = "⚠ new life-safety item"; live.classList.add("alarm"); }
      }
    }
    knownLifeSafety = ids;
  }

  function refreshQueue(table) {
    var url = table.getAttribute("data-refresh-url");
    var current = document.getElementById("queue-rows");
    if (!url || !current || document.hidden || busy(current)) { return; }
    var picked = Array.prototype.map.call(current.querySelectorAll("input.pick:checked"), function (i) { return i.value; });
    var selectedId = selected ? selected.getAttribute("data-item-id") : null;
    fetch(url, { headers: { "X-Patrol-Fragment": "1" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (!html || busy(document.getElementById("queue-rows"))) { return; }
        var parsed = new DOMParser().parseFromString("<table>" + html + "</table>", "text/html");
        var fresh = parsed.getElementById("queue-rows");
        if (!fresh) { return; }
        var imported = document.importNode(fresh, true);
        document.getElementById("queue-rows").replaceWith(imported);
        picked.forEach(function (id) {
          var box = imported.querySelector("input.pick[value='" + CSS.escape(id) + "']");
          if (box) { box.checked = true; }
        });
        selected = null;
        if (selectedId) { select(imported.querySelector("tr[data-item-id='" + CSS.escape(selectedId) + "']")); }
        document.querySelectorAll(".total-slot").forEach(function (slot) {
          slot.textContent = imported.getAttribute("data-total");
        });
        syncClock(imported);
        noteLifeSafety(imported);
        updatePicked();
        tickTimers();
      })
      .catch(function () { /* the next refresh tries again */ });
  }

  // -- actions by key ------------------------------------------------------------------------------
  function scope() {
    if (document.body.getAttribute("data-page") === "item") { return document.querySelector("main"); }
    return selected;
  }

  function submitAction(name) {
    var where = scope();
    if (!where) { return false; }
    var button = where.querySelector("button[data-action='" + name + "']");
    if (!button) { return false; }
    button.form.requestSubmit(button);
    return true;
  }

  function dismissWith(index) {
    var where = scope();
    var form = where && where.querySelector("form.act-dismiss");
    if (!form) { return; }
    var choice = form.querySelector("select[name=reason]");
    if (!choice || index >= choice.options.length) { return; }
    choice.selectedIndex = index;
    if (choice.options[index].getAttribute("data-note-required")) {
      form.querySelector("input[name=note]").focus();
      return;
    }
    form.requestSubmit(form.querySelector("button[data-action=dismiss]"));
  }

  function focusIn(selector) {
    var where = scope();
    var el = where && where.querySelector(selector);
    if (el) { el.focus(); }
  }

  function onKey(event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && target.matches && target.matches("input, textarea, select")) {
      if (event.key === "Escape") { target.blur(); }
      return;
    }
    var page = document.body.getAttribute("data-page");
    if (page !== "queue" && page !== "item") { return; }
    var key = event.key;
    var handled = true;
    if (page === "queue" && (key === "j" || key === "ArrowDown")) { move(1); }
    else if (page === "queue" && (key === "k" || key === "ArrowUp")) { move(-1); }
    else if (page === "queue" && (key === "o" || key === "Enter") && selected) {
      window.location.assign(selected.getAttribute("data-href"));
    }
    else if (page === "queue" && key === "x" && selected) {
      var box = selected.querySelector("input.pick");
      if (box) { box.checked = !box.checked; updatePicked(); }
    }
    else if (page === "queue" && key === "/") { var f = document.querySelector("#filters select"); if (f) { f.focus(); } }
    else if (key === "c") { submitAction("claim"); }
    else if (key === "r") { submitAction("release"); }
    else if (key === "a") { submitAction("acknowledge"); }
    else if (key === "e") { submitAction("escalate"); }
    else if (key === "d") { focusIn("form.act-dismiss select[name=reason]"); }
    else if (key === "u") { focusIn("form.act-duplicate input[name=of]"); }
    else if (/^[1-9]$/.test(key)) { dismissWith(parseInt(key, 10) - 1); }
    else { handled = false; }
    if (handled) { event.preventDefault(); }
  }

  function checkNoteRequired(event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("act-dismiss")) { return; }
    var choice = form.querySelector("select[name=reason]");
    var note = form.querySelector("input[name=note]");
    var option = choice && choice.options[choice.selectedIndex];
    if (option && option.getAttribute("data-note-required") && note && !note.value.trim()) {
      event.preventDefault();
      note.setCustomValidity("this reason needs a note");
      note.reportValidity();
      note.addEventListener("input", function () { note.setCustomValidity(""); }, { once: true });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    syncClock(document.body);
    tickTimers();
    window.setInterval(tickTimers, 1000);
    document.addEventListener("keydown", onKey);
    document.addEventListener("submit", checkNoteRequired, true);
    document.addEventListener("change", function (event) {
      if (event.target.matches && event.target.matches("input.pick")) { updatePicked(); }
    });
    document.addEventListener("click", function (event) {
      var row = event.target.closest ? event.target.closest("tr.item-row") : null;
      if (row) { select(row); }
    });
    var table = document.getElementById("queue");
    if (table) {
      var rowsNow = document.getElementById("queue-rows");
      if (rowsNow) { noteLifeSafety(rowsNow); }
      var seconds = parseInt(table.getAttribute("data-refresh-s"), 10) || 10;
      window.setInterval(function () { refreshQueue(table); }, seconds * 1000);
      document.addEventListener("visibilitychange", function () { if (!document.hidden) { refreshQueue(table); } });
      move(0);
    }
  });
}());
