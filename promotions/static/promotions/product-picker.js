// The simulator's lines: a product key is typed with suggestions from the catalog (key or name, in the
// chosen channel), and picking one fills in its catalog price when the unit price is still empty.
"use strict";
(function () {
  const table = document.querySelector("[data-product-search]");
  if (!table) return;
  const url = table.dataset.productSearch;
  const list = document.createElement("datalist");
  list.id = "simulator-products";
  document.body.append(list);
  const prices = new Map();
  let waiting = null;

  function channel() {
    const box = document.getElementById("id_channel");
    return box ? box.value : "";
  }

  for (const input of table.querySelectorAll("input[name$='-product_key']")) {
    input.setAttribute("list", list.id);
    input.setAttribute("autocomplete", "off");
    input.addEventListener("input", () => {
      const text = input.value.trim();
      if (text.length < 2) return;
      clearTimeout(waiting);
      waiting = setTimeout(async () => {
        const query = new URLSearchParams({ q: text, channel: channel() });
        const response = await fetch(`${url}?${query}`, { credentials: "same-origin" });
        if (!response.ok) return;
        const found = (await response.json()).products;
        list.replaceChildren(...found.map((p) => {
          prices.set(p.key, p.price);
          const option = document.createElement("option");
          option.value = p.key;
          option.label = p.price ? `${p.name} (${p.price})` : `${p.name} (${p.channels})`;
          return option;
        }));
      }, 150);
    });
    input.addEventListener("change", () => {
      const price = input.closest("tr").querySelector("input[name$='-unit_price']");
      const known = prices.get(input.value.trim());
      if (price && !price.value && known) price.value = known;
    });
  }
})();
