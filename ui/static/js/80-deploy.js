// Deploy and update form. Client checks catch the common mistakes; the
// gateway's 400 answers ("field \"service\": ...") are shown by the field
// they name.
route(/^#\/deploy(?:\/([^/]+))?$/, (ns) => deployPage(ns || currentNs(), null));
route(/^#\/edit\/([^/]+)\/([^/]+)$/, (ns, name) => deployPage(ns, name));

const ENV_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ARTIFACT_ANNOTATION = "com.ferryfaas.artifact";

// fieldFor maps a gateway field name to the form control that edits it.
const FIELD_IDS = {
  service: "f-service", namespace: "f-namespace", image: "f-image", envProcess: "f-fprocess",
  envVars: "f-env", labels: "f-labels", annotations: "f-annotations", secrets: "f-secrets",
  "limits.memory": "f-limits-memory", "limits.cpu": "f-limits-cpu",
  "requests.memory": "f-requests-memory", "requests.cpu": "f-requests-cpu",
  artifact: "f-artifact", readOnlyRootFilesystem: "f-readonly",
};

function deployPage(ns, editName) {
  const editing = !!editName;
  const field = (key, label, control, hint) => {
    const id = FIELD_IDS[key];
    control.id = id;
    const hintId = hint ? id + "-hint" : null;
    const errEl = h("p", { class: "field-error", id: id + "-error" });
    control.setAttribute("aria-describedby", [hintId, errEl.id].filter(Boolean).join(" "));
    return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("p", { class: "hint", id: hintId }, hint) : null, errEl);
  };
  const input = (attrs) => h("input", { autocomplete: "off", spellcheck: "false", ...attrs });
  const ta = (attrs) => h("textarea", { rows: "3", spellcheck: "false", ...attrs });

  const service = input({ name: "service", required: true, maxlength: "63", readOnly: editing, value: editName || "" });
  const nsSel = h("select", { name: "namespace", disabled: editing }, (namespaces.includes(ns) ? namespaces : [...namespaces, ns]).map((n) => h("option", { value: n, selected: n === ns }, n)));
  const srcImage = h("input", { type: "radio", name: "source", id: "src-image", value: "image", checked: true });
  const srcArtifact = h("input", { type: "radio", name: "source", id: "src-artifact", value: "artifact" });
  const image = input({ name: "image", placeholder: "ghcr.io/me/fn:1.0" });
  const artifact = h("input", { type: "file", name: "artifact", accept: ".tar.gz,.tgz,application/gzip" });
  const fprocess = input({ name: "envProcess", placeholder: "cat" });
  const env = ta({ name: "envVars", placeholder: "KEY=value" });
  const labels = ta({ name: "labels", placeholder: "com.openfaas.scale.max=5" });
  const annotations = ta({ name: "annotations", placeholder: "key=value" });
  const secretsBox = h("div", { class: "checks", role: "group", tabindex: "-1" }, h("span", { class: "muted" }, "loading…"));
  const limMem = input({ name: "limits.memory", placeholder: "128Mi" }), limCpu = input({ name: "limits.cpu", placeholder: "500m" });
  const reqMem = input({ name: "requests.memory", placeholder: "64Mi" }), reqCpu = input({ name: "requests.cpu", placeholder: "100m" });
  const readonly = h("input", { type: "checkbox", name: "readOnlyRootFilesystem" });
  const formErr = h("p", { class: "form-error", id: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary", id: "f-submit" }, editing ? "Update" : "Deploy");
  let existing = null;

  const imageField = field("image", "Image", image, "The container image (or, for the process runtime, any label for this build).");
  const artifactField = field("artifact", "Artifact (.tar.gz)", artifact, "A tar.gz of the function's files; it is uploaded, then deployed by digest.");
  const syncSource = () => {
    artifactField.hidden = !srcArtifact.checked;
    imageField.querySelector("label").textContent = srcArtifact.checked ? "Image (optional with an artifact)" : "Image";
  };
  srcImage.addEventListener("change", syncSource); srcArtifact.addEventListener("change", syncSource);

  const form = h("form", { id: "deploy-form", novalidate: true, onsubmit: (e) => { e.preventDefault(); send(); } },
    h("div", { class: "row" },
      field("service", "Function name", service, "Lower-case letters, digits and '-' (RFC 1123), at most 63 characters."),
      field("namespace", "Namespace", nsSel)),
    h("fieldset", {}, h("legend", {}, "Code"),
      h("div", { class: "checks", style: "margin-bottom:.6rem" },
        h("label", { for: "src-image" }, srcImage, " Image"), h("label", { for: "src-artifact" }, srcArtifact, " Uploaded artifact")),
      imageField, artifactField,
      field("envProcess", "Process (fprocess)", fprocess, "The command the watchdog runs, e.g. cat or node index.js.")),
    h("div", { class: "row" },
      field("envVars", "Environment (KEY=value per line)", env),
      field("labels", "Labels (key=value per line)", labels),
      field("annotations", "Annotations (key=value per line)", annotations)),
    h("fieldset", { id: "f-secrets-set" }, h("legend", {}, "Secrets"), secretsBox,
      h("p", { class: "hint" }, "Mounted read-only under /var/openfaas/secrets/. Create them on the Secrets page or with ferry secret create."),
      h("p", { class: "field-error", id: "f-secrets-error" })),
    h("fieldset", {}, h("legend", {}, "Resources"),
      h("div", { class: "row" }, field("limits.memory", "Memory limit", limMem), field("limits.cpu", "CPU limit", limCpu),
        field("requests.memory", "Memory request", reqMem), field("requests.cpu", "CPU request", reqCpu)),
      h("label", { for: "f-readonly" }, readonly, " Read-only root filesystem")),
    formErr,
    h("div", { class: "actions" }, submit,
      h("a", { class: "button", href: editing ? fnPath(ns, editName) : `#/ns/${enc(ns)}` }, "Cancel")));
  readonly.id = "f-readonly";
  secretsBox.id = "f-secrets";
  syncSource();

  append($main, [
    h("p", { class: "crumb" }, h("a", { href: editing ? fnPath(ns, editName) : `#/ns/${enc(ns)}` }, "← Back")),
    h("h1", {}, editing ? `Update ${editName}` : "Deploy a function"),
    h("div", { class: "card" }, form),
  ]);

  let selectedSecrets = new Set();
  const loadSecrets = async (namespace) => {
    let list = [];
    try { list = (await api("GET", `/system/secrets?namespace=${enc(namespace)}`)) || []; } catch { }
    const names = [...new Set([...list.map((x) => x.name), ...selectedSecrets])].sort();
    secretsBox.replaceChildren(...(names.length ? names.map((n, i) => h("label", { for: `f-secret-${i}` },
      h("input", { type: "checkbox", id: `f-secret-${i}`, value: n, checked: selectedSecrets.has(n) }), " ", n))
      : [h("span", { class: "muted" }, `No secrets in ${namespace}.`)]));
  };
  nsSel.addEventListener("change", () => loadSecrets(nsSel.value));

  (async () => {
    if (editing) {
      try {
        existing = await api("GET", `/system/function/${enc(editName)}?namespace=${enc(ns)}`);
        image.value = existing.image || ""; fprocess.value = existing.envProcess || "";
        env.value = toLines(existing.envVars); labels.value = toLines(existing.labels);
        annotations.value = toLines(existing.annotations);
        selectedSecrets = new Set(existing.secrets || []);
        limMem.value = existing.limits?.memory || ""; limCpu.value = existing.limits?.cpu || "";
        reqMem.value = existing.requests?.memory || ""; reqCpu.value = existing.requests?.cpu || "";
        readonly.checked = !!existing.readOnlyRootFilesystem;
      } catch (e) { formErr.textContent = "Could not load the function: " + e.message; }
    }
    loadSecrets(nsSel.value);
  })();

  function clearErrors() {
    formErr.textContent = "";
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
  }
  function fieldError(key, msg) {
    const id = FIELD_IDS[key] || FIELD_IDS[key.split(".")[0]];
    const ctl = id && document.getElementById(id);
    const errEl = id && document.getElementById(id + "-error");
    if (!ctl || !errEl) { formErr.textContent = msg; return null; }
    errEl.textContent = msg;
    ctl.setAttribute("aria-invalid", "true");
    return ctl;
  }

  function build() {
    const errs = [];
    const d = { service: service.value.trim(), namespace: nsSel.value, image: image.value.trim() };
    if (!d.service) errs.push(["service", "Enter a function name."]);
    else if (d.service.length > 63) errs.push(["service", `The name is ${d.service.length} characters long; the limit is 63.`]);
    else if (!NAME_RE.test(d.service)) errs.push(["service", "Use lower-case letters, digits and '-', starting and ending with a letter or digit."]);
    const useArtifact = srcArtifact.checked;
    if (useArtifact && !artifact.files.length && !(existing && existing.annotations?.[ARTIFACT_ANNOTATION])) errs.push(["artifact", "Choose a .tar.gz file to upload."]);
    if (!useArtifact && !d.image) errs.push(["image", "Enter an image."]);
    if (/\s/.test(d.image)) errs.push(["image", "An image reference has no spaces."]);
    if (fprocess.value.trim()) d.envProcess = fprocess.value.trim();
    for (const [key, el] of [["envVars", env], ["labels", labels], ["annotations", annotations]]) {
      const [m, bad] = fromLines(el.value);
      if (bad) { errs.push([key, bad]); continue; }
      if (key === "envVars") { const k = Object.keys(m).find((k) => !ENV_RE.test(k)); if (k) errs.push([key, `"${k}" is not a valid variable name (letters, digits, '_'; not starting with a digit).`]); }
      if (Object.keys(m).length) d[key] = m;
    }
    const secrets = [...secretsBox.querySelectorAll("input:checked")].map((c) => c.value);
    if (secrets.length) d.secrets = secrets;
    const res = (mem, cpu) => (mem.value.trim() || cpu.value.trim()) ? { ...(mem.value.trim() && { memory: mem.value.trim() }), ...(cpu.value.trim() && { cpu: cpu.value.trim() }) } : undefined;
    d.limits = res(limMem, limCpu); d.requests = res(reqMem, reqCpu);
    if (readonly.checked) d.readOnlyRootFilesystem = true;
    return [d, errs, useArtifact];
  }

  async function send() {
    clearErrors();
    const [d, errs, useArtifact] = build();
    if (errs.length) {
      const first = errs.map(([k, m]) => fieldError(k, m)).find(Boolean);
      formErr.textContent = errs.length === 1 ? "Fix the field marked below." : `Fix the ${errs.length} fields marked below.`;
      if (first) first.focus();
      return;
    }
    submit.disabled = true;
    try {
      if (useArtifact && artifact.files.length) {
        say("Uploading the artifact…");
        const up = await api("POST", "/system/artifacts", artifact.files[0], { headers: { "Content-Type": "application/gzip" } });
        if (!up || !up.digest) throw new ApiError(500, "the artifact upload answered no digest");
        d.annotations = { ...(d.annotations || {}), [ARTIFACT_ANNOTATION]: up.digest };
        if (!d.image) d.image = "artifact/" + d.service + "@" + up.digest;
      } else if (useArtifact && existing) {
        d.annotations = { ...(d.annotations || {}), [ARTIFACT_ANNOTATION]: existing.annotations[ARTIFACT_ANNOTATION] };
        if (!d.image) d.image = existing.image;
      }
      await api(editing ? "PUT" : "POST", "/system/functions", d);
      say(`${editing ? "Updated" : "Deployed"} ${d.service}.`);
      location.hash = fnPath(d.namespace, d.service);
    } catch (e) {
      if (e.status === 401) return;
      const m = /^field "([^"]+)":\s*(.*)$/s.exec(e.message);
      const ctl = m ? fieldError(m[1], m[2]) : null;
      if (ctl) { formErr.textContent = "The gateway rejected the marked field."; ctl.focus(); }
      else formErr.textContent = (e.status ? `The gateway answered ${e.status}: ` : "") + e.message;
    } finally { submit.disabled = false; }
  }
}

const toLines = (m) => Object.entries(m || {}).map(([k, v]) => `${k}=${v}`).join("\n");
// fromLines parses "key=value" lines; it returns [map, error message].
function fromLines(text) {
  const m = {};
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) return [m, `Line ${i + 1} must look like key=value.`];
    m[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return [m, null];
}
