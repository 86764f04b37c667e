// The demo pages show the pixel's debug lines (data-debug) on the page as
// well as on the console: every console.info line that starts with [onramp].
(function () {
  var info = console.info;
  console.info = function (line) {
    info.apply(console, arguments);
    var pre = document.getElementById('debug');
    if (pre && String(line).startsWith('[onramp]')) pre.textContent += line + '\n';
  };
})();
