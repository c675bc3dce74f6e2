// Progressive enhancements only: every page works without JavaScript.
(function () {
  "use strict";
  // Focus the error summary so screen readers announce it.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
