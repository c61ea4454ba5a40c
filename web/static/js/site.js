// The landing page: translated text, a language picker, and the embed snippet for this server.

import { startSitePage } from "./sitepage.js";

startSitePage();

document.getElementById("embed-code").textContent =
  `<script src="${location.origin}/widget.js" data-org="demo" async></script>`;
