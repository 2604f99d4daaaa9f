// Progressive enhancement of the transition form's organisation field (same pattern as the home
// page's commune search, regio/autocomplete.js): suggestions from /api/1/organizations under the
// field; choosing one fills the hidden input named by data-target (assigned_to, holder) with its slug. Without JavaScript the typed
// text is resolved by the server, which asks to choose when several organisations match.
(function () {
  "use strict";
  document.querySelectorAll("input[data-org-search]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var hidden = document.getElementById(input.dataset.target);
    if (!list || !hidden) return;
    var timer = null, active = -1, items = [];

    function close() {
      list.hidden = true; list.innerHTML = ""; items = []; active = -1;
      input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant");
    }
    function highlight(i) {
      items.forEach(function (li, k) { li.setAttribute("aria-selected", k === i ? "true" : "false"); });
      active = i;
      if (i >= 0) { input.setAttribute("aria-activedescendant", items[i].id); items[i].scrollIntoView({ block: "nearest" }); }
      else input.removeAttribute("aria-activedescendant");
    }
    function choose(li) {
      input.value = li.dataset.name;
      hidden.value = li.dataset.slug;
      close();
    }
    input.addEventListener("input", function () {
      hidden.value = "";  // typing again: the server resolves the text unless a suggestion is chosen
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      timer = setTimeout(function () {
        fetch(input.dataset.orgSearch + (input.dataset.orgSearch.indexOf("?") < 0 ? "?" : "&") + "page_size=10&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { data: [] }; })
          .then(function (body) {
            close();
            body.data.forEach(function (o, k) {
              var li = document.createElement("li");
              li.id = input.id + "-option-" + k;
              li.setAttribute("role", "option");
              li.setAttribute("aria-selected", "false");
              li.dataset.slug = o.slug;
              li.dataset.name = o.name;
              li.textContent = o.name + " (" + o.kind_label.toLowerCase() + (o.territory_code ? ", " + o.territory_code : "") + ")";
              li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(li); });
              list.appendChild(li);
              items.push(li);
            });
            list.hidden = items.length === 0;
            input.setAttribute("aria-expanded", items.length ? "true" : "false");
          })
          .catch(close);
      }, 200);
    });
    input.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown") { e.preventDefault(); highlight(Math.min(active + 1, items.length - 1)); }
      else if (e.key === "ArrowUp") { e.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(items[active]); }
      else if (e.key === "Escape") { e.preventDefault(); close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  });
})();
