// The control token, asked for before the controls show. It lives in sessionStorage only (gone
// when the browser session ends, never in a cookie, so another site cannot make the browser send
// it) and goes as `Authorization: Bearer …` on this page's own requests; the reporter forwards
// it to the service a control drives. A 401 forgets it and asks again.
(() => {
  const KEY = "adpipe.apiToken";
  const token = () => sessionStorage.getItem(KEY);
  const ownFetch = window.fetch.bind(window);

  window.fetch = async (input, init = {}) => {
    const url = new URL(typeof input === "string" ? input : input.url, location.href);
    const t = token();
    if (url.origin !== location.origin || !t) return ownFetch(input, init);
    const headers = new Headers(init.headers ?? {});
    headers.set("authorization", `Bearer ${t}`);
    const res = await ownFetch(input, { ...init, headers });
    if (res.status === 401) {
      sessionStorage.removeItem(KEY);
      render();
    }
    return res;
  };

  const nav = document.querySelector("nav.controls");
  const buttons = () => [...nav.querySelectorAll("button:not(.auth)")];
  const form = document.createElement("form");
  form.className = "auth";
  form.innerHTML =
    '<input type="password" data-testid="token-input" autocomplete="off" placeholder="ADPIPE_API_TOKEN" aria-label="control token">' +
    '<button type="submit" class="auth" data-testid="token-save">Unlock controls</button>';
  const lock = document.createElement("button");
  lock.type = "button";
  lock.className = "auth";
  lock.dataset.testid = "token-forget";
  lock.textContent = "Lock";
  nav.prepend(form, lock);

  function render() {
    const unlocked = Boolean(token());
    // Inline display, so no stylesheet rule can show a hidden control.
    const show = (node, yes) => {
      node.style.display = yes ? "" : "none";
    };
    for (const b of buttons()) show(b, unlocked);
    show(form, !unlocked);
    show(lock, unlocked);
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const input = form.querySelector("input");
    const value = input.value.trim();
    if (value) sessionStorage.setItem(KEY, value);
    input.value = "";
    render();
  });
  lock.addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    render();
  });
  render();
})();
