/* outsort page: talks to the service's JSON API; plain JavaScript, no framework, nothing fetched
   from elsewhere. User text is only ever inserted as text nodes, never as HTML. */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("page-config").textContent);
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const number = new Intl.NumberFormat("en");
  const percent = (x) => Math.round(x * 100) + "%";
  const SHORT = {bpo_front_office: "Front", bpo_back_office: "Back", kpo: "KPO"};
  const LEVELS = ["0: none", "1: little", "2: some", "3: most", "4: nearly all"];
  const MAX_FILE_BYTES = 20 * 1024 * 1024;

  // What is on screen: rows of {text, line, prediction, predictionId, source}, for the table and
  // the download. ``source`` holds the CSV row's own cells, so the download keeps them.
  let results = {rows: [], header: ["text"], sourceName: "outsort-results", skipped: []};
  let csvFile = null;

  // ---------------------------------------------------------------- messages
  function say(text) {
    $("status").textContent = text;
  }

  function fail(text) {
    $("error").textContent = text;
    $("error").hidden = false;
  }

  function clearMessages() {
    say("");
    $("error").textContent = "";
    $("error").hidden = true;
  }

  function setBusy(busy) {
    for (const id of ["analyse", "clear", "csv-run"]) {
      $(id).disabled = busy || (id === "csv-run" && !csvFile);
    }
    $("results").setAttribute("aria-busy", String(busy));
  }

  function showProgress(done, total, noun) {
    const box = $("progress-box");
    box.hidden = total <= config.batchSize;  // one request: nothing to follow
    $("progress").max = total;
    $("progress").value = done;
    $("progress-label").textContent = "Classified " + number.format(done) + " of " + number.format(total) + " " + noun;
  }

  // ---------------------------------------------------------------- the API
  class ApiFailure extends Error {
    constructor(message, field) {
      super(message);
      this.field = field || null;
    }
  }

  async function postJson(path, body, headers) {
    let response;
    try {
      response = await fetch(path, {
        method: "POST", credentials: "same-origin", body: JSON.stringify(body),
        headers: Object.assign({"Content-Type": "application/json", "Accept": "application/json"}, headers || {}),
      });
    } catch (err) {
      throw new ApiFailure("The service could not be reached (" + err.message + "). Check the connection and try again.");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;  // a proxy's HTML error page, say; reported below by status
    }
    if (!response.ok) {
      const error = data && data.error;
      if (error && error.message) {
        throw new ApiFailure("The service refused the request (" + response.status + ", " + error.code + "): " +
                             error.message, error.field);
      }
      throw new ApiFailure("The service answered HTTP " + response.status + " without an explanation. Try again later.");
    }
    if (data === null) {
      throw new ApiFailure("The service sent an answer this page cannot read (HTTP " + response.status + ").");
    }
    return data;
  }

  /* Classify ``texts`` in batches, one request after another, reporting progress. A refused
     item (``texts[i]``) is named by ``describe(index)`` so the user can find it. */
  async function classifyTexts(texts, describe, noun, title) {
    const predictions = [];
    showProgress(0, texts.length, noun);
    for (let start = 0; start < texts.length; start += config.batchSize) {
      const batch = texts.slice(start, start + config.batchSize);
      let data;
      try {
        data = await postJson("/v1/classify", title ? {texts: batch, title: title, explain: true}
                                                    : {texts: batch, explain: true});
      } catch (err) {
        const match = err.field && /^texts\[(\d+)\]/.exec(err.field);
        if (match) {
          err.message += " (" + describe(start + Number(match[1])) + ")";
        }
        throw err;
      }
      predictions.push(...data.predictions);
      showProgress(predictions.length, texts.length, noun);
    }
    return predictions;
  }

  // ---------------------------------------------------------------- reading the text box
  const JOB_HEADING = /^\W*(responsibilit|duties|key (duties|tasks)|requirements?\b|qualifications?|what you('|’)?ll do|what you will do|what we offer|benefits|about (us|you|the (role|company|job))|role purpose|the role|your role|job description|position summary|who you are)/im;

  /* A job description has headings such as "Responsibilities", or reads as prose (a few long
     lines holding several sentences); a task list is short lines. */
  function detectMode(text) {
    if (JOB_HEADING.test(text)) {
      return "job";
    }
    const lines = text.split(/\r?\n/).filter((line) => line.trim());
    const sentences = (text.match(/[.!?](\s|$)/g) || []).length;
    return lines.length <= 3 && sentences >= 3 ? "job" : "tasks";
  }

  function jobTitle() {
    return $("input-title").value.trim();
  }

  function chosenMode() {
    const text = $("input-text").value;
    const mode = document.querySelector('input[name="mode"]:checked').value;
    return mode === "auto" ? detectMode(text) : mode;
  }

  function taskLines(text) {
    return text.split(/\r?\n/).map((line, i) => ({text: line.trim(), line: i + 1})).filter((item) => item.text);
  }

  function updateStats() {
    const text = $("input-text").value;
    if (!text.trim()) {
      $("input-stats").textContent = "";
      return;
    }
    const auto = document.querySelector('input[name="mode"]:checked').value === "auto";
    const mode = chosenMode();
    const what = mode === "job" ? "one job description" : number.format(taskLines(text).length) + " task line(s)";
    $("input-stats").textContent = (auto ? "Detected: " : "Reading as ") + what + " · " +
      number.format(text.length) + " characters";
  }

  // ---------------------------------------------------------------- submitting pasted text
  async function analysePasted() {
    clearMessages();
    const text = $("input-text").value;
    if (!text.trim() && jobTitle()) {
      await analyseBusy(() => analyseTitle(jobTitle()));
      return;
    }
    if (!text.trim()) {
      fail("Nothing to analyse: paste tasks (one per line) or a job description into the text box, " +
           "or type a job title.");
      $("input-text").focus();
      return;
    }
    const mode = chosenMode();
    const problem = mode === "job" ? checkJob(text) : checkTasks(taskLines(text));
    if (problem) {
      fail(problem);
      $("input-text").focus();
      return;
    }
    await analyseBusy(() => mode === "job" ? analyseJob(text) : analyseTasks(taskLines(text)));
  }

  async function analyseBusy(work) {
    setBusy(true);
    say("Analysing…");
    try {
      await work();
    } catch (err) {
      say("");
      fail(err.message);
    } finally {
      setBusy(false);
      $("progress-box").hidden = true;
    }
  }

  function checkJob(text) {
    if (text.length > config.maxJobChars) {
      return "The job description has " + number.format(text.length) + " characters; the limit is " +
        number.format(config.maxJobChars) + ". Shorten it, or paste its duties as task lines.";
    }
    return null;
  }

  function checkTasks(items) {
    if (items.length > config.maxCsvRows) {
      return "You pasted " + number.format(items.length) + " lines; the page takes up to " +
        number.format(config.maxCsvRows) + " at a time. Split the list.";
    }
    const long = items.find((item) => item.text.length > config.maxTextChars);
    if (long) {
      return "Line " + long.line + " has " + number.format(long.text.length) + " characters; the limit for one task is " +
        number.format(config.maxTextChars) + ". Is it a job description? Choose \"One job description\".";
    }
    return null;
  }

  async function analyseTasks(items) {
    const predictions = await classifyTexts(items.map((item) => item.text), (i) => "line " + items[i].line, "lines",
                                            jobTitle());
    hideJob();
    showResults({
      rows: items.map((item, i) => ({text: item.text, line: item.line, prediction: predictions[i],
                                     predictionId: predictions[i].id, source: null})),
      header: ["text"], sourceName: "outsort-tasks", skipped: [],
    });
    say("Classified " + number.format(items.length) + " task(s).");
  }

  async function analyseJob(text) {
    const title = jobTitle();
    const data = await postJson("/v1/jobs", title ? {title: title, description: text, explain: true}
                                                  : {description: text, explain: true});
    const job = data.jobs[0];
    showJob(job);
    showResults({
      rows: job.tasks.map((task, i) => ({text: task.text, line: i + 1, prediction: task, predictionId: null, source: null})),
      header: ["text"], sourceName: "outsort-job", skipped: [],
    });
    if (!job.tasks.length) {
      say("No duties found in the description: it seems to hold only requirements, benefits or company text.");
    } else {
      say("Found " + job.n_tasks + " duties in the job description; " + job.left_out.length + " part(s) set aside.");
    }
  }

  /* A job title alone: its mix, on-site share and automation estimate in the job summary, with
     the title's words that drove it and the nearest O*NET occupations as evidence. */
  async function analyseTitle(title) {
    const data = await postJson("/v1/titles", {title: title, explain: true});
    const answer = data.titles[0];
    showJob({...answer, n_tasks: 0, left_out: []});
    $("job-heading").textContent = "Title mix: " + answer.title;
    const words = answer.terms.map((t) => t.term).join(", ");
    const nearest = answer.nearest_occupations.map((o) => o.occupation).filter((o, i, all) => all.indexOf(o) === i);
    $("job-tasks").textContent = " · from the title alone" + (words ? "; driven by: " + words : "") +
      (nearest.length ? "; nearest O*NET occupations: " + nearest.join("; ") : "");
    $("results").hidden = true;
    results = {rows: [], header: ["text"], sourceName: "outsort-results", skipped: []};
    say("Read the job title alone: paste its tasks or description to read them in its light.");
  }

  // ---------------------------------------------------------------- CSV files
  /* RFC 4180 with the delimiter sniffed from the header (comma, semicolon or tab). Returns rows of
     {cells, line}; ``line`` is where the row starts in the file, for messages. */
  function parseCsv(text) {
    if (text.charCodeAt(0) === 0xfeff) {
      text = text.slice(1);
    }
    const delimiter = sniffDelimiter(text);
    const rows = [];
    let cells = [];
    let field = "";
    let quoted = false;
    let line = 1;
    let rowLine = 1;
    let quoteLine = 1;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') {
          field += '"';
          i++;
        } else if (c === '"') {
          quoted = false;
        } else {
          if (c === "\n") line++;
          field += c;
        }
      } else if (c === '"' && field === "") {
        quoted = true;
        quoteLine = line;
      } else if (c === delimiter) {
        cells.push(field);
        field = "";
      } else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        cells.push(field);
        rows.push({cells, line: rowLine});
        cells = [];
        field = "";
        line++;
        rowLine = line;
      } else {
        field += c;
      }
    }
    if (quoted) {
      throw new Error("line " + quoteLine + ": a quoted field is never closed (a \" is missing)");
    }
    if (field !== "" || cells.length) {
      cells.push(field);
      rows.push({cells, line: rowLine});
    }
    return rows.filter((row) => row.cells.length > 1 || row.cells[0].trim() !== "");
  }

  function sniffDelimiter(text) {
    const first = text.slice(0, text.search(/\r?\n|$/));
    const counts = [",", ";", "\t"].map((d) => [d, first.split(d).length]);
    counts.sort((a, b) => b[1] - a[1]);
    return counts[0][1] > 1 ? counts[0][0] : ",";
  }

  async function readCsv(file) {
    if (file.size > MAX_FILE_BYTES) {
      throw new Error(file.name + " is " + number.format(Math.round(file.size / 1048576)) + " MB; the page reads files up to 20 MB.");
    }
    let text;
    try {
      text = new TextDecoder("utf-8", {fatal: true}).decode(await file.arrayBuffer());
    } catch (err) {
      throw new Error(file.name + " is not UTF-8 text. Save it as \"CSV UTF-8\" and upload it again.");
    }
    let rows;
    try {
      rows = parseCsv(text);
    } catch (err) {
      throw new Error(file.name + ": " + err.message + ".");
    }
    if (!rows.length) {
      throw new Error(file.name + " is empty: it needs a header row and at least one row of text.");
    }
    const header = rows[0].cells.map((name, i) => name.trim() || "column " + (i + 1));
    const data = rows.slice(1);
    if (!data.length) {
      throw new Error(file.name + " has a header but no rows.");
    }
    if (data.length > config.maxCsvRows) {
      throw new Error(file.name + " has " + number.format(data.length) + " rows; the page takes up to " +
        number.format(config.maxCsvRows) + ". Split the file, or use the API or the outsort predict command for big files.");
    }
    return {name: file.name, header, rows: data};
  }

  /* Prefer a column named like text; otherwise the one with the longest values. */
  function guessTextColumn(csv) {
    const named = csv.header.findIndex((name) => /^(text|task|tasks|description|duty|duties|statement|task_text)$/i.test(name.trim()));
    if (named >= 0) {
      return named;
    }
    const sample = csv.rows.slice(0, 50);
    const length = (i) => sample.reduce((sum, row) => sum + (row.cells[i] || "").length, 0);
    let best = 0;
    csv.header.forEach((_, i) => { if (length(i) > length(best)) best = i; });
    return best;
  }

  async function loadFile() {
    clearMessages();
    csvFile = null;
    const select = $("csv-column");
    select.replaceChildren();
    select.disabled = true;
    setBusy(false);
    const file = $("csv-file").files[0];
    if (!file) {
      select.append(new Option("choose a file first", ""));
      return;
    }
    try {
      csvFile = await readCsv(file);
    } catch (err) {
      select.append(new Option("choose a file first", ""));
      fail(err.message);
      return;
    }
    csvFile.header.forEach((name, i) => select.append(new Option(name, String(i))));
    select.value = String(guessTextColumn(csvFile));
    select.disabled = false;
    setBusy(false);
    say(csvFile.name + ": " + number.format(csvFile.rows.length) + " rows, " + csvFile.header.length +
        " column(s). Check the text column, then press Classify file.");
  }

  async function classifyFile() {
    clearMessages();
    if (!csvFile) {
      fail("Choose a CSV file first.");
      $("csv-file").focus();
      return;
    }
    const column = Number($("csv-column").value);
    const columnName = csvFile.header[column];
    const rows = csvFile.rows.map((row, i) => ({text: (row.cells[column] || "").trim(), row: i + 1, line: row.line, cells: row.cells}));
    const filled = rows.filter((row) => row.text);
    const skipped = rows.filter((row) => !row.text);
    if (!filled.length) {
      fail("Column \"" + columnName + "\" of " + csvFile.name + " is empty in every row. Choose the column that holds the text.");
      $("csv-column").focus();
      return;
    }
    const long = filled.find((row) => row.text.length > config.maxTextChars);
    if (long) {
      fail(csvFile.name + ", row " + long.row + " (line " + long.line + "), column \"" + columnName + "\": " +
           number.format(long.text.length) + " characters; the limit is " + number.format(config.maxTextChars) + ".");
      return;
    }
    setBusy(true);
    say("Classifying " + csvFile.name + "…");
    try {
      const predictions = await classifyTexts(filled.map((row) => row.text),
        (i) => "row " + filled[i].row + ", line " + filled[i].line + " of " + csvFile.name, "rows");
      hideJob();
      showResults({
        rows: filled.map((row, i) => ({text: row.text, line: row.row, prediction: predictions[i],
                                       predictionId: predictions[i].id, source: row})),
        header: csvFile.header, sourceName: csvFile.name.replace(/\.[^.]*$/, "") + "-classified", skipped,
        all: rows,
      });
      say("Classified " + number.format(filled.length) + " rows of " + csvFile.name +
          (skipped.length ? "; " + number.format(skipped.length) + " row(s) with no text were skipped" : "") + ".");
    } catch (err) {
      say("");
      fail(err.message);
    } finally {
      setBusy(false);
    }
  }

  // ---------------------------------------------------------------- the job mix
  function hideJob() {
    $("job-summary").hidden = true;
  }

  function showJob(job) {
    const shares = {
      bpo_front_office: job.share_bpo_front_office, bpo_back_office: job.share_bpo_back_office,
      kpo: job.share_kpo, not_outsourceable: job.share_not_outsourceable,
    };
    $("job-heading").textContent = job.title ? "Job mix: " + job.title : "Job mix";
    $("job-category").replaceChildren(document.createTextNode("Mostly "), categoryLabel(job.category));
    $("job-tasks").textContent = " · " + job.n_tasks + " duties";
    const stack = $("job-stack");
    const legend = $("job-legend");
    stack.replaceChildren();
    legend.replaceChildren();
    const spoken = [];
    for (const label of config.labelOrder) {
      const share = shares[label] || 0;
      const segment = document.createElement("span");
      segment.className = "seg-" + label;
      segment.style.width = (share * 100) + "%";
      segment.title = config.labels[label] + " " + percent(share);
      stack.append(segment);
      const item = document.createElement("li");
      item.dataset.label = label;
      const swatch = document.createElement("span");
      swatch.className = "swatch swatch-" + label;
      const value = document.createElement("strong");
      value.textContent = percent(share);
      item.append(swatch, config.labels[label] + " ", value);
      legend.append(item);
      spoken.push(config.labels[label] + " " + percent(share));
    }
    stack.setAttribute("aria-label", "Job mix: " + spoken.join(", "));
    $("job-automation-bar").style.width = (job.automation_score * 100) + "%";
    $("job-automation-text").textContent = "Level " + job.automation_level + " of 4 (score " + job.automation_score.toFixed(2) + ")";
    showLeftOut(job.left_out);
    $("job-summary").hidden = false;
  }

  function showLeftOut(leftOut) {
    const box = $("job-left-out");
    box.hidden = !leftOut.length;
    const kinds = {};
    leftOut.forEach((part) => { kinds[part.kind] = (kinds[part.kind] || 0) + 1; });
    $("job-left-out-summary").textContent = leftOut.length + " part(s) set aside as not duties: " +
      Object.entries(kinds).map(([kind, n]) => kind + " " + n).join(", ");
    $("job-left-out-list").replaceChildren(...leftOut.map((part) => {
      const item = document.createElement("li");
      const kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = part.kind;
      item.append(kind, part.text);
      return item;
    }));
  }

  // ---------------------------------------------------------------- the results table
  function categoryLabel(label) {
    const chip = document.createElement("span");
    chip.className = "label label-" + label;
    chip.textContent = config.labels[label] || label;
    return chip;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function meter(kind, value) {
    const bar = element("div", "meter meter-" + kind);
    bar.setAttribute("aria-hidden", "true");
    const fill = element("span");
    fill.style.width = (value * 100) + "%";
    bar.append(fill);
    return bar;
  }

  /* The words that pushed the chosen category, strongest first: at most five, and none with less
     than a fifth of the strongest one's weight, so the highlights stay readable. */
  function drivingTerms(prediction) {
    const terms = ((prediction.explanation && prediction.explanation.category) || []).filter((term) => term.weight > 0);
    const floor = terms.length ? terms[0].weight / 5 : 0;
    return terms.filter((term) => term.weight >= floor).slice(0, 5);
  }

  /* The text with the words that pushed the category marked; matching ignores case and needs
     word boundaries, since the model's terms are normalised words of the text. */
  function highlighted(text, allTerms) {
    const cell = element("td", "text");
    cell.dataset.label = "Text";
    const fromTitle = allTerms.filter((term) => term.from_title);
    const terms = allTerms.filter((term) => !term.from_title);
    const drivers = allTerms.map((t) => t.from_title ? t.term + " (title)" : t.term).join(", ");
    if (!terms.length) {
      cell.append(text);
      if (fromTitle.length) {
        cell.append(element("span", "drivers", "Driven by: " + drivers));
      }
      return cell;
    }
    const strongest = terms[0].weight;
    const byTerm = new Map(terms.map((term) => [term.term.toLowerCase(), term.weight]));
    const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s+/g, "\\s+");
    const alternatives = [...byTerm.keys()].sort((a, b) => b.length - a.length).map(escape).join("|");
    const pattern = new RegExp("(?<![\\p{L}\\p{N}])(?:" + alternatives + ")(?![\\p{L}\\p{N}])", "giu");
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      cell.append(text.slice(last, match.index));
      const weight = byTerm.get(match[0].toLowerCase().replace(/\s+/g, " ")) || 0;
      const mark = element("mark", weight >= strongest / 2 ? "drive" : "drive drive-weak", match[0]);
      mark.title = "pushes towards this category (" + weight.toFixed(2) + ")";
      cell.append(mark);
      last = match.index + match[0].length;
    }
    cell.append(text.slice(last));
    cell.append(element("span", "drivers", "Driven by: " + drivers));
    return cell;
  }

  function categoryCell(p) {
    const cell = element("td");
    cell.dataset.label = "Category";
    if (p.out_of_scope) {
      cell.append(categoryLabel("not_outsourceable"));
      const mark = element("span", "out-of-scope", "Out of scope");
      mark.title = "Not an outsourcing candidate: outsourceable " + percent(p.outsourceable);
      cell.append(element("br"), mark);
      cell.append(element("span", "sub", "closest: " + config.labels[p.category] + " · outsourceable " + percent(p.outsourceable)));
    } else {
      cell.append(categoryLabel(p.category));
      cell.append(element("span", "sub", "confidence " + percent(p.confidence)));
    }
    return cell;
  }

  function probabilityCell(p) {
    const cell = element("td");
    cell.dataset.label = "Probabilities";
    const bars = element("div", "bars");
    for (const label of config.categories) {
      const value = p["p_" + label];
      const name = element("span", null, SHORT[label]);
      name.title = config.labels[label];
      bars.append(name, meter(label, value), element("span", "pct", percent(value)));
    }
    cell.append(bars);
    return cell;
  }

  function automationCell(p) {
    const cell = element("td", "automation");
    cell.dataset.label = "Automation";
    cell.append(element("strong", null, "Level " + p.automation_level + " of 4"));
    cell.append(meter("automation", p.automation_score));
    cell.append(element("span", "sub", "score " + p.automation_score.toFixed(2)));
    return cell;
  }

  function correctionCell(row, index, tr) {
    const cell = element("td", "correct");
    cell.dataset.label = "Correction";
    const details = element("details");
    const summary = element("summary", null, "Correct this");
    const form = element("form");
    const predicted = row.prediction.out_of_scope ? "not_outsourceable" : row.prediction.category;
    const categoryId = "fix-category-" + index;
    const levelId = "fix-level-" + index;
    const category = element("select");
    category.id = categoryId;
    for (const label of config.labelOrder) {
      category.append(new Option(config.labels[label], label, false, label === predicted));
    }
    const level = element("select");
    level.id = levelId;
    level.append(new Option("leave out", ""));
    LEVELS.forEach((name, value) => level.append(new Option(name, String(value))));
    const categoryLabelNode = element("label", null, "Right category");
    categoryLabelNode.htmlFor = categoryId;
    const levelLabel = element("label", null, "Automation level (optional)");
    levelLabel.htmlFor = levelId;
    const send = element("button", null, "Send correction");
    send.type = "submit";
    const status = element("span", "recorded");
    status.setAttribute("role", "status");
    form.append(categoryLabelNode, category, levelLabel, level, send);
    details.append(summary, form);
    cell.append(details, status);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sendCorrection(row, category.value, level.value, {send, status, details, tr});
    });
    return cell;
  }

  async function sendCorrection(row, category, level, ui) {
    const body = {text: row.text, category};
    if (level !== "") body.automation_level = Number(level);
    if (row.predictionId) body.prediction_id = row.predictionId;
    ui.send.disabled = true;
    ui.status.className = "recorded";
    ui.status.textContent = "Sending…";
    try {
      await postJson("/v1/feedback", body, {[config.csrfHeader]: csrfToken});
      ui.status.className = "recorded ok";
      ui.status.textContent = "✓ Recorded: " + config.labels[category] + (level !== "" ? ", level " + level : "");
      ui.details.open = false;
      ui.tr.classList.add("corrected");
    } catch (err) {
      ui.status.className = "recorded failed";
      ui.status.textContent = err.message;
    } finally {
      ui.send.disabled = false;
    }
  }

  function resultRow(row, index) {
    const p = row.prediction;
    const tr = element("tr");
    tr.dataset.category = p.out_of_scope ? "not_outsourceable" : p.category;
    const num = element("td", "num", String(row.line));
    num.dataset.label = "Row";
    tr.append(num, highlighted(row.text, drivingTerms(p)), categoryCell(p), probabilityCell(p), automationCell(p),
              correctionCell(row, index, tr));
    return tr;
  }

  function showResults(next) {
    results = next;
    const shown = results.rows.slice(0, config.shownRows);
    $("results-body").replaceChildren(...shown.map(resultRow));
    const counts = {};
    results.rows.forEach((row) => {
      const label = row.prediction.out_of_scope ? "not_outsourceable" : row.prediction.category;
      counts[label] = (counts[label] || 0) + 1;
    });
    const parts = config.labelOrder.filter((l) => counts[l]).map((l) => config.labels[l] + " " + counts[l]);
    let summary = number.format(results.rows.length) + " row(s): " + parts.join(" · ");
    if (results.rows.length > shown.length) {
      summary += ". The table shows the first " + number.format(shown.length) + "; the download has them all.";
    }
    $("results-summary").textContent = summary;
    $("download").disabled = !results.rows.length;
    $("results").hidden = false;
  }

  // ---------------------------------------------------------------- the download
  /* A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return that hides
     one) as a formula: prefix such cells with a quote so they stay text. */
  function csvCell(value) {
    let text = value === null || value === undefined ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(text)) {
      text = "'" + text;
    }
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function outputName(name, header) {
    return header.includes(name) ? "predicted_" + name : name;
  }

  function resultsCsv() {
    const outputs = [...config.outputColumns, "driving_words"];
    const header = [...results.header, ...outputs.map((name) => outputName(name, results.header))];
    const byRow = new Map(results.rows.map((row) => [row.source, row]));
    const sourceRows = results.all || results.rows;
    const lines = [header];
    for (const item of sourceRows) {
      const row = results.all ? byRow.get(item) : item;
      const own = results.all ? results.header.map((_, i) => item.cells[i]) : [item.text];
      const p = row ? row.prediction : null;
      const predicted = p ? config.outputColumns.map((name) => p[name]) : config.outputColumns.map(() => "");
      const words = p ? drivingTerms(p).map((term) => term.term).join("; ") : "";
      lines.push([...own, ...predicted, words]);
    }
    // The byte-order mark makes spreadsheet programs read the file as UTF-8.
    return "\ufeff" + lines.map((cells) => cells.map(csvCell).join(",")).join("\r\n") + "\r\n";
  }

  function download() {
    if (!results.rows.length) {
      fail("Nothing to download yet: analyse some text or a file first.");
      return;
    }
    const blob = new Blob([resultsCsv()], {type: "text/csv;charset=utf-8"});
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = results.sourceName + ".csv";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    say("Downloaded " + link.download + " (" + number.format(results.rows.length) + " classified rows).");
  }

  // ---------------------------------------------------------------- wiring
  $("paste-form").addEventListener("submit", (event) => {
    event.preventDefault();
    analysePasted();
  });
  $("input-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (!$("analyse").disabled) analysePasted();
    }
  });
  $("input-text").addEventListener("input", updateStats);
  document.querySelectorAll('input[name="mode"]').forEach((radio) => radio.addEventListener("change", updateStats));
  $("clear").addEventListener("click", () => {
    $("input-text").value = "";
    $("input-title").value = "";
    updateStats();
    clearMessages();
    $("input-text").focus();
  });
  $("csv-file").addEventListener("change", loadFile);
  $("csv-form").addEventListener("submit", (event) => {
    event.preventDefault();
    classifyFile();
  });
  $("download").addEventListener("click", download);
  setBusy(false);
  updateStats();
})();
