// Filters the job cards by status (or `alert`), manifest and matrix parameter (`key=value`, one per
// line in a card's data-params); no server needed (file:// works).
(function () {
  var status = document.getElementById("filter-status");
  var manifest = document.getElementById("filter-manifest");
  var param = document.getElementById("filter-param");
  var shown = document.getElementById("shown");
  function apply() {
    var n = 0;
    document.querySelectorAll(".job").forEach(function (card) {
      var ok = (!status.value || card.dataset.status === status.value ||
        (status.value === "alert" && card.dataset.alert === "alert")) &&
        (!manifest.value || card.dataset.manifest === manifest.value) &&
        (!param || !param.value ||
          (card.dataset.params || "").split("\n").indexOf(param.value) >= 0);
      card.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = String(n);
  }
  status.addEventListener("change", apply);
  manifest.addEventListener("change", apply);
  if (param) { param.addEventListener("change", apply); }
  apply();
})();
