// Start: build the header, then render the route and follow hash changes.
buildNav();
// The skip link moves focus without touching the hash (the router owns it).
document.querySelector(".skip")?.addEventListener("click", (e) => { e.preventDefault(); $main.focus(); });
window.addEventListener("hashchange", render);
render.moved = false;
render();
