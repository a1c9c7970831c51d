// Filters the job cards by status (or `alert`) and manifest; no server needed (file:// works).
(function () {
  var status = document.getElementById("filter-status");
  var manifest = document.getElementById("filter-manifest");
  var shown = document.getElementById("shown");
  function apply() {
    var n = 0;
    document.querySelectorAll(".job").forEach(function (card) {
      var ok = (!status.value || card.dataset.status === status.value ||
        (status.value === "alert" && card.dataset.alert === "alert")) &&
        (!manifest.value || card.dataset.manifest === manifest.value);
      card.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = String(n);
  }
  status.addEventListener("change", apply);
  manifest.addEventListener("change", apply);
  apply();
})();
