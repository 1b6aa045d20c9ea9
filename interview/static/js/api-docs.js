// The API reference page: Swagger UI (vendored) on the app's own OpenAPI document.
const root = document.getElementById("swagger-ui");
window.SwaggerUIBundle({
  url: root.dataset.specUrl,
  domNode: root,
  deepLinking: true,
  tryItOutEnabled: false,
  validatorUrl: null, // never send the document to an outside validator
});
