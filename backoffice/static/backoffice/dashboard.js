"use strict";
// The dashboard's sponsor and point type choices show their figures at once (templates/admin/backoffice/dashboard.html).
for (const select of document.querySelectorAll("select.submit-on-change")) {
  select.addEventListener("change", () => select.form.submit());
}
