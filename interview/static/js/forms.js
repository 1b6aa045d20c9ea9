// After the server refused a form, move focus to the first field in error, so keyboard and
// screen-reader users land on what needs fixing (its message is tied to it by aria-describedby).
const invalid = document.querySelector("form .is-invalid, form [aria-invalid='true']");
if (invalid && typeof invalid.focus === "function") {
  invalid.focus();
}
