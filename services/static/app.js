// SnapMode web page: search by photo (file, drop or URL), by words, or both; filters from /facets; paging;
// "more like this" on each result.
const $ = (id) => document.getElementById(id);
const form = { file: $("file"), url: $("url"), q: $("q"), k: $("k") };
const filters = [...document.querySelectorAll("select[data-facet]")];
let photo = null;     // the current query photo: {kind: "file", blob} or {kind: "url", url}
let current = null;   // the shown query: {kind: "photo" | "text" | "similar", key?, title?}
let offset = 0;       // rank of the first shown result

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function showPreview(src) {
  $("preview").src = src;
  $("preview").hidden = false;
  $("drop-hint").hidden = true;
}

function keyHeaders() {
  const key = localStorage.getItem("snapmode-api-key");
  return key ? { "X-API-Key": key } : {};
}

// fetch() with the API key; on 401 asks for the key once, keeps it in this browser, and retries.
async function call(url, options = {}) {
  const send = () => fetch(url, { ...options, headers: { ...(options.headers || {}), ...keyHeaders() } });
  let response = await send();
  if (response.status === 401) {
    const key = window.prompt("This SnapMode server needs an API key:");
    if (key) {
      localStorage.setItem("snapmode-api-key", key.trim());
      response = await send();
    }
  }
  return response;
}

function params() {
  const p = new URLSearchParams({ k: form.k.value || "12", offset: String(offset) });
  filters.forEach((select) => { if (select.value) p.set(select.id, select.value); });
  return p;
}

function words() {
  return form.q.value.trim();
}

function request() {
  const p = params();
  if (current.kind === "similar") return call(`/products/${encodeURIComponent(current.key)}/similar?${p}`);
  if (current.kind === "text" || (photo && photo.kind === "file")) {
    if (words()) p.set("q", words());
    const body = new FormData();
    p.forEach((value, name) => body.append(name, value));
    if (current.kind === "photo") body.append("file", photo.blob, photo.blob.name || "query.jpg");
    return call("/search", { method: "POST", body });
  }
  const body = { url: photo.url, ...Object.fromEntries(p), q: words() || null };
  body.k = Number(body.k);
  body.offset = Number(body.offset);
  return call("/search/url", { method: "POST", headers: { "Content-Type": "application/json" },
                               body: JSON.stringify(body) });
}

async function run(append = false) {
  if (!current) return;
  if (!append) offset = 0;
  setStatus(append ? "Loading more…" : "Searching…");
  let response;
  try {
    response = await request();
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
  render(data.results, append);
  $("more").hidden = data.results.length < data.k;
  const shown = $("grid").children.length;
  const what = current.kind === "similar" ? `More like “${current.title}”: ` : "";
  setStatus(`${what}${shown} products in ${Math.round(data.took_ms)} ms${data.cached ? " (cached)" : ""}`);
}

function price(r) {
  if (r.price == null) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: r.currency || "EUR" }).format(r.price);
  } catch { return `${r.price.toFixed(2)} ${r.currency || ""}`; }
}

function render(results, append) {
  const grid = $("grid");
  if (!append) grid.replaceChildren();
  $("empty").hidden = grid.children.length + results.length > 0;
  if (!grid.children.length && !results.length) $("empty").textContent = "No product matched this query and filter.";
  results.forEach((r) => {
    const card = $("card").content.firstElementChild.cloneNode(true);
    if (!grid.children.length) card.classList.add("first");
    card.dataset.key = r.product_key;
    card.querySelector(".thumb").href = r.url;
    const img = card.querySelector("img");
    img.src = r.image_path;
    img.alt = r.title;
    card.querySelector(".brand-name").textContent = r.brand || r.site;
    card.querySelector(".score").textContent = r.score.toFixed(3);
    card.querySelector(".title").textContent = r.title;
    card.querySelector(".price").textContent = price(r);
    card.querySelector(".category").textContent = r.category || "";
    const also = card.querySelector(".also");
    const others = (r.duplicates || []).length;
    if (others) {  // near-duplicates collapsed into this result
      also.hidden = false;
      also.textContent = `Also sold as ${others} other product${others > 1 ? "s" : ""}`;
      also.title = r.duplicates.join(", ");
    }
    card.querySelector(".more-like").addEventListener("click", () => {
      current = { kind: "similar", key: r.product_key, title: r.title };
      run();
    });
    grid.append(card);
  });
}

async function loadFacets() {
  let data;
  try {
    const response = await call("/facets");
    if (!response.ok) return;
    data = await response.json();
  } catch { return; }
  filters.forEach((select) => {
    for (const { value, count } of data[select.dataset.facet] || []) {
      const option = new Option(`${value} (${count})`, value);
      select.append(option);
    }
  });
}

function usePhoto(query, preview) {
  photo = query;
  showPreview(preview);
  current = { kind: "photo" };
  run();
}

function useFile(file) {
  if (file) usePhoto({ kind: "file", blob: file }, URL.createObjectURL(file));
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
  if (url) usePhoto({ kind: "url", url }, url);
}

// Words search with the current photo when there is one, alone otherwise.
function searchWords() {
  if (photo) current = { kind: "photo" };
  else if (words()) current = { kind: "text" };
  run();
}

$("url-go").addEventListener("click", searchUrl);
form.url.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); searchUrl(); } });
$("q-go").addEventListener("click", searchWords);
form.q.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); searchWords(); } });
[form.k, ...filters].forEach((el) => el.addEventListener("change", () => run()));
$("more").addEventListener("click", () => {
  offset += Number(form.k.value || "12");
  run(true);
});
loadFacets();
