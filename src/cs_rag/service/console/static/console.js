/* cs_rag console behaviours (no framework): the review queue's keys, the entry search picker,
 * ingest job progress. Everything shown is set as text, never HTML.
 * Every page works without it; it only saves clicks. */
(function () {
  "use strict";
  var root = document.documentElement.getAttribute("data-root") || "";   // "/kb/<name>" or ""
  function typing(target) {
    return /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable;
  }

  // ---- review queue: j/k move, a approve, e edit, r reject, Ctrl+Enter sends an edit -------
  var queue = document.querySelector('[data-keys="reviews"]');
  if (queue) {
    var items = Array.prototype.slice.call(queue.querySelectorAll(".item"));
    var current = 0;
    var select = function (index) {
      if (!items.length) { return; }
      current = Math.max(0, Math.min(items.length - 1, index));
      items.forEach(function (item, i) { item.setAttribute("aria-current", String(i === current)); });
      items[current].focus();
    };
    items.forEach(function (item, i) { item.addEventListener("focusin", function () {
      current = i; items.forEach(function (other, j) { other.setAttribute("aria-current", String(j === i)); });
    }); });
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey && event.key === "Enter" && event.target.tagName === "TEXTAREA") {
        var edit = event.target.form && event.target.form.querySelector('[data-key="e"]');
        if (edit) { event.preventDefault(); edit.click(); }
        return;
      }
      if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey || !items.length) { return; }
      var item = items[current];
      if (event.key === "j") { select(current + 1); }
      else if (event.key === "k") { select(current - 1); }
      else if (event.key === "e") { event.preventDefault(); item.querySelector("textarea").focus(); }
      else if (event.key === "a" || event.key === "r") { item.querySelector('[data-key="' + event.key + '"]').click(); }
      else { return; }
    });
    if (items.length) { items[0].setAttribute("aria-current", "true"); }
  }

  // ---- the entry search picker ---------------------------------------------------------------
  Array.prototype.forEach.call(document.querySelectorAll("form.picker"), function (form) {
    var query = form.querySelector(".pick-query");
    var results = form.querySelector(".pick-results");
    var target = form.querySelector(".pick-target");
    var timer = null;
    var search = function () {
      var q = query.value.trim();
      if (!q) { results.hidden = true; return; }
      fetch(root + "/console/entries.json?q=" + encodeURIComponent(q), {credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : {entries: []}; })
        .then(function (data) {
          results.textContent = "";
          data.entries.forEach(function (entry) {
            var li = document.createElement("li");
            var button = document.createElement("button");
            button.type = "button";
            button.setAttribute("data-testid", "learning-pick");
            button.setAttribute("data-entry", entry.id);
            var title = document.createElement("strong");
            title.textContent = entry.title;
            var detail = document.createElement("small");
            detail.textContent = " " + entry.id + " · " + entry.text;
            button.appendChild(title); button.appendChild(detail);
            button.addEventListener("click", function () {
              target.value = entry.id; results.hidden = true;
              form.querySelector('button[type="submit"]').focus();
            });
            li.appendChild(button); results.appendChild(li);
          });
          results.hidden = !data.entries.length;
        });
    };
    query.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 250); });
    query.addEventListener("focus", function () { if (!results.children.length) { search(); } });
    query.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); clearTimeout(timer); search(); }
      if (event.key === "ArrowDown") {
        var first = results.querySelector("button");
        if (first) { event.preventDefault(); first.focus(); }
      }
    });
  });

  // ---- ingest job progress -------------------------------------------------------------------
  Array.prototype.forEach.call(document.querySelectorAll("[data-job]"), function (box) {
    var status = box.querySelector('[data-testid="job-status"]');
    var bar = box.querySelector("progress");
    var stage = box.querySelector(".job-stage");
    var poll = function () {
      fetch(root + "/console/jobs/" + encodeURIComponent(box.getAttribute("data-job")) + ".json", {credentials: "same-origin"})
        .then(function (response) { return response.json(); })
        .then(function (job) {
          status.textContent = job.status;
          if (job.progress && job.progress.to_embed) {
            bar.value = job.progress.embedded / job.progress.to_embed;
            stage.textContent = job.progress.embedded + " / " + job.progress.to_embed;
          }
          if (job.status === "done") {
            bar.value = 1;
            location.reload();   // the page shows what the job changed
          } else if (job.status === "failed") {
            bar.value = 1; stage.textContent = job.error || "";
          } else { setTimeout(poll, 400); }
        })
        .catch(function () { setTimeout(poll, 2000); });
    };
    if (status.textContent !== "done" && status.textContent !== "failed") { poll(); }
  });
})();
