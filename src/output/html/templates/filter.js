// Orders the job cards, and filters them by status (or `alert`), manifest and matrix parameter (`key=value`, one per
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
  // The page comes failures first (data-order); "by id" sorts the cards by their id.
  var order = document.getElementById("order");
  var jobs = document.getElementById("jobs");
  order.addEventListener("change", function () {
    var cards = Array.prototype.slice.call(jobs.querySelectorAll(".job"));
    cards.sort(function (a, b) {
      if (order.value === "id") { return a.dataset.id < b.dataset.id ? -1 : a.dataset.id > b.dataset.id ? 1 : 0; }
      return Number(a.dataset.order) - Number(b.dataset.order);
    });
    cards.forEach(function (card) { jobs.appendChild(card); });
  });
})();
