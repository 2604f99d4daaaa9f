// Progressive enhancement: commune suggestions under a search field marked data-autocomplete.
// Without JavaScript the form still submits to the server-side search.
(function () {
  "use strict";
  document.querySelectorAll("input[data-autocomplete]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    if (!list) return;
    var timer = null;
    function close() { list.hidden = true; list.innerHTML = ""; input.setAttribute("aria-expanded", "false"); }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      timer = setTimeout(function () {
        fetch(input.dataset.autocomplete + "?page_size=8&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { data: [] }; })
          .then(function (body) {
            list.innerHTML = "";
            body.data.forEach(function (c) {
              var li = document.createElement("li");
              li.setAttribute("role", "option");
              var a = document.createElement("a");
              a.href = "/territoire/" + c.code;
              a.textContent = c.name + " (" + c.departement.code + ")" + (c.postal_codes.length ? " — " + c.postal_codes[0] : "");
              li.appendChild(a);
              list.appendChild(li);
            });
            list.hidden = body.data.length === 0;
            input.setAttribute("aria-expanded", body.data.length ? "true" : "false");
          })
          .catch(close);
      }, 150);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" && !list.hidden) { var first = list.querySelector("a"); if (first) { e.preventDefault(); first.focus(); } }
      if (e.key === "Escape") close();
    });
    list.addEventListener("keydown", function (e) {
      var links = Array.prototype.slice.call(list.querySelectorAll("a"));
      var i = links.indexOf(document.activeElement);
      if (e.key === "ArrowDown" && i < links.length - 1) { e.preventDefault(); links[i + 1].focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); if (i > 0) links[i - 1].focus(); else input.focus(); }
      if (e.key === "Escape") { close(); input.focus(); }
    });
  });
})();
