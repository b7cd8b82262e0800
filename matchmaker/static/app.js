/* Matchmaker: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  /* "Similar challenges already posted" while the title is typed. */
  function initSimilar() {
    var box = document.getElementById("similar");
    var input = document.querySelector("[data-similar-source]");
    if (!box || !input) return;
    var list = box.querySelector("ul");
    var url = box.getAttribute("data-similar-url");
    var exclude = input.getAttribute("data-similar-exclude");
    var last = "";
    var controller = null;
    var lookup = debounce(function () {
      var q = input.value.trim();
      if (q === last) return;
      last = q;
      if (q.length < 8) { box.hidden = true; return; }
      if (controller) controller.abort();
      controller = "AbortController" in window ? new AbortController() : null;
      var params = new URLSearchParams({ q: q });
      if (exclude) params.set("exclude", exclude);
      fetch(url + "?" + params.toString(), {
        headers: { "Accept": "application/json" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined
      }).then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (data) {
          list.textContent = "";
          (data.items || []).forEach(function (item) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = item.url;
            a.textContent = item.title;
            a.target = "_blank";
            a.rel = "noopener";
            li.appendChild(a);
            if (item.organisation) {
              var who = document.createElement("span");
              who.className = "meta";
              who.textContent = " · " + item.organisation;
              li.appendChild(who);
            }
            list.appendChild(li);
          });
          box.hidden = list.children.length === 0;
        })
        .catch(function () { /* typing goes on; the hint is optional */ });
    }, 350);
    input.addEventListener("input", lookup);
    if (input.value.trim().length >= 8) lookup();
  }

  /* Sliders next to the number inputs of the strategy weights. */
  function initRanges() {
    document.querySelectorAll("input[data-sync]").forEach(function (range) {
      var number = document.getElementById(range.getAttribute("data-sync"));
      if (!number) return;
      range.addEventListener("input", function () { number.value = range.value; });
      number.addEventListener("input", function () {
        var v = parseFloat(number.value.replace(",", "."));
        if (!isNaN(v)) range.value = String(Math.min(1, Math.max(0, v)));
      });
    });
  }

  /* Progress of a matching run. */
  function initRun() {
    var box = document.querySelector("[data-run-status-url]");
    if (!box) return;
    var url = box.getAttribute("data-run-status-url");
    var bar = box.querySelector("progress");
    var done = box.querySelector(".run-done");
    var total = box.querySelector(".run-total");
    var state = box.querySelector(".run-state");
    var error = box.querySelector(".run-error");
    var finished = box.querySelector(".run-finished");
    var phase = box.querySelector(".run-phase");
    var started = box.getAttribute("data-run-state");
    function show(run) {
      var summary = run.summary || {};
      if (phase) {
        phase.hidden = summary.phase !== "embedding";
        phase.textContent = box.getAttribute("data-label-embedding") + " " +
          (summary.embedded || 0) + " / " + (summary.to_embed || 0);
      }
      bar.max = Math.max(run.total || 0, 1);
      bar.value = run.done || 0;
      done.textContent = run.done;
      total.textContent = run.total;
      var label = box.getAttribute("data-label-" + run.status) || run.status;
      state.innerHTML = "";
      var badge = document.createElement("span");
      badge.className = "badge badge-" + run.status;
      badge.textContent = label;
      state.appendChild(badge);
      if (run.error) { error.textContent = run.error; error.hidden = false; }
      finished.hidden = run.status !== "finished";
    }
    function poll() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (run) {
          show(run);
          if (run.status === "queued" || run.status === "running") setTimeout(poll, 1000);
          // Finished while watched: the page itself shows the run's summary.
          else if (run.status === "finished" && started !== "finished") window.location.reload();
        })
        .catch(function () { setTimeout(poll, 3000); });
    }
    var current = box.getAttribute("data-run-state");
    if (current === "queued" || current === "running") poll();
  }

  /* After a rejected form, move focus to the summary so screen readers announce it. */
  function initErrors() {
    var summary = document.getElementById("form-errors");
    if (summary) {
      var first = document.querySelector("[aria-invalid=true]");
      (first || summary).focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    initSimilar();
    initRanges();
    initRun();
    initErrors();
  });
})();
