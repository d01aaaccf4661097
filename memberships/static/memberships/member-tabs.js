// The member page's tabs: one panel at a time, chosen by its tab or by the address's #fragment.
// Without this script every panel shows, one under the other.
"use strict";
(function () {
  const bar = document.querySelector(".member-tabs");
  if (!bar) return;
  const tabs = Array.from(bar.querySelectorAll("a[role=tab]"));
  const panels = tabs.map((tab) => document.getElementById(tab.getAttribute("href").slice(1)));
  document.body.classList.add("member-tabbed");

  function show(id) {
    tabs.forEach((tab, i) => {
      const on = panels[i].id === id;
      tab.classList.toggle("selected", on);
      tab.setAttribute("aria-selected", on ? "true" : "false");
      panels[i].hidden = !on;
    });
  }

  tabs.forEach((tab) => {
    tab.addEventListener("click", (event) => {
      event.preventDefault();
      const id = tab.getAttribute("href").slice(1);
      show(id);
      history.replaceState(null, "", "#" + id);
    });
  });
  const wanted = window.location.hash.slice(1);
  // A form sent back with errors opens on the member data, where the errors are.
  const errors = document.querySelector("#member-data .errornote, #member-data .errorlist");
  const known = panels.some((panel) => panel.id === wanted);
  show(errors ? "member-data" : known ? wanted : panels[0].id);
})();
