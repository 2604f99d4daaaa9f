/* PNG download of the finance charts (progressive enhancement, no third-party code).
   Beside each "Image du graphique (SVG)" link, a button loads that same SVG file (same origin,
   colours as presentation attributes), draws it on a canvas at twice its size on a white
   background and downloads the canvas as a PNG file. Without JavaScript, the SVG and CSV
   links still work. */
(function () {
  "use strict";

  function download(blob, name) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 30000);
  }

  function toPng(svgLink, status) {
    var figure = svgLink.closest("figure");
    var svg = figure && figure.querySelector("svg");
    var box = svg && svg.viewBox && svg.viewBox.baseVal;
    var width = box && box.width ? box.width : 640;
    var height = box && box.height ? box.height : 400;
    var scale = 2;
    var image = new Image();
    status.textContent = "Préparation de l'image PNG…";
    image.onload = function () {
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      var context = canvas.getContext("2d");
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        if (!blob) {
          status.textContent = "L'image PNG n'a pas pu être créée : téléchargez le SVG.";
          return;
        }
        download(blob, (svgLink.getAttribute("data-chart") || "graphique") + ".png");
        status.textContent = "Image PNG téléchargée.";
      }, "image/png");
    };
    image.onerror = function () {
      status.textContent = "L'image PNG n'a pas pu être créée : téléchargez le SVG.";
    };
    image.src = svgLink.getAttribute("href");
  }

  document.querySelectorAll("a.chart-svg").forEach(function (svgLink) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "chart-png";
    button.textContent = "Image du graphique « " + (svgLink.getAttribute("data-title") || "") + " » (PNG)";
    var status = document.createElement("span");
    status.className = "chart-png-status";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () { toPng(svgLink, status); });
    svgLink.after(" · ", button, status);
  });
})();
