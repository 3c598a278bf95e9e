// SnapMode web page: send a photo (file, drop or URL) to the API and show the matching products.
const $ = (id) => document.getElementById(id);
const form = { file: $("file"), url: $("url"), k: $("k"), category: $("category") };
let lastQuery = null; // {kind: "file", blob} or {kind: "url", url}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function showPreview(src) {
  $("preview").src = src;
  $("preview").hidden = false;
  $("drop-hint").hidden = true;
}

function params() {
  const p = new URLSearchParams({ k: form.k.value || "12" });
  if (form.category.value) p.set("category", form.category.value);
  return p;
}

function keyHeaders() {
  const key = localStorage.getItem("snapmode-api-key");
  return key ? { "X-API-Key": key } : {};
}

async function post(query) {
  if (query.kind === "file") {
    const body = new FormData();
    body.append("file", query.blob, query.blob.name || "query.jpg");
    return fetch(`/search?${params()}`, { method: "POST", headers: keyHeaders(), body });
  }
  const p = params();
  const body = { url: query.url, k: Number(p.get("k")), category: p.get("category") || null };
  return fetch("/search/url", { method: "POST", headers: { "Content-Type": "application/json", ...keyHeaders() },
                                body: JSON.stringify(body) });
}

async function send(query) {
  lastQuery = query;
  setStatus("Searching…");
  let response;
  try {
    response = await post(query);
    if (response.status === 401) {  // the server wants an API key: ask once, keep it in this browser
      const key = window.prompt("This SnapMode server needs an API key:");
      if (key) {
        localStorage.setItem("snapmode-api-key", key.trim());
        response = await post(query);
      }
    }
  } catch (err) {
    setStatus(`The server could not be reached: ${err}`, true);
    return;
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail ?? response.statusText);
    setStatus(`${response.status}: ${detail}`, true);
    return;
  }
  render(data.results);
  setStatus(`${data.results.length} products in ${Math.round(data.took_ms)} ms${data.cached ? " (cached)" : ""}`);
}

function price(r) {
  if (r.price == null) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: r.currency || "EUR" }).format(r.price);
  } catch { return `${r.price.toFixed(2)} ${r.currency || ""}`; }
}

function render(results) {
  const grid = $("grid");
  grid.replaceChildren();
  $("empty").hidden = results.length > 0;
  if (!results.length) $("empty").textContent = "No product matched this photo and filter.";
  results.forEach((r, i) => {
    const card = $("card").content.firstElementChild.cloneNode(true);
    if (i === 0) card.classList.add("first");
    card.querySelector(".thumb").href = r.url;
    const img = card.querySelector("img");
    img.src = r.image_path;
    img.alt = r.title;
    card.querySelector(".brand-name").textContent = r.brand || r.site;
    card.querySelector(".score").textContent = r.score.toFixed(3);
    card.querySelector(".title").textContent = r.title;
    card.querySelector(".price").textContent = price(r);
    card.querySelector(".category").textContent = r.category || "";
    grid.append(card);
  });
}

function useFile(file) {
  if (!file) return;
  showPreview(URL.createObjectURL(file));
  send({ kind: "file", blob: file });
}

form.file.addEventListener("change", () => useFile(form.file.files[0]));
const drop = $("drop");
["dragenter", "dragover"].forEach((e) => drop.addEventListener(e, (ev) => { ev.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((e) => drop.addEventListener(e, (ev) => { ev.preventDefault(); drop.classList.remove("over"); }));
drop.addEventListener("drop", (ev) => useFile(ev.dataTransfer.files[0]));
document.addEventListener("paste", (ev) => {
  const item = [...(ev.clipboardData?.items || [])].find((i) => i.type.startsWith("image/"));
  if (item) useFile(item.getAsFile());
});

function searchUrl() {
  const url = form.url.value.trim();
  if (!url) return;
  showPreview(url);
  send({ kind: "url", url });
}
$("url-go").addEventListener("click", searchUrl);
form.url.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); searchUrl(); } });
[form.k, form.category].forEach((el) => el.addEventListener("change", () => lastQuery && send(lastQuery)));
