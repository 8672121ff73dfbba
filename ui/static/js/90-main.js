// Start: build the header, then render the route and follow hash changes.
buildNav();
window.addEventListener("hashchange", render);
render.moved = false;
render();
