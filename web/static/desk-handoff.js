/* Hands the desk's sign-in to GraphiQL: the token, purpose and reference the desk issued
 * (in a JSON block of this page) go into sessionStorage, where graphiql-init.js reads
 * them, and the browser moves on to GraphiQL. */
(function () {
  "use strict";
  var block = document.getElementById("hub-handoff");
  if (!block) return;
  var handoff = JSON.parse(block.textContent);
  window.sessionStorage.setItem(handoff.key, JSON.stringify(handoff.credentials));
  window.location.replace(handoff.next);
})();
