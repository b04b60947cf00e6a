// Maintenance: the scheduled jobs, their last and next runs, and Run now.
import { get, post } from "../api.js";
import { html, useEffect, useState } from "../html.js";
import { Empty, ErrorText, Time, useNow } from "../ui.js";

export function Maintenance({ can }) {
  const now = useNow();
  const [jobs, setJobs] = useState(null);
  const [error, setError] = useState(null);
  const [rowError, setRowError] = useState({});
  const [running, setRunning] = useState(null);
  const load = () => get("/api/maintenance/jobs").then(setJobs).catch((e) => setError(e.message));
  useEffect(() => {
    load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);
  async function run(name) {
    setRunning(name);
    setRowError({ ...rowError, [name]: null });
    try { await post(`/api/maintenance/jobs/${encodeURIComponent(name)}/run`); } catch (e) { setRowError({ ...rowError, [name]: e.message }); }
    setRunning(null);
    load();
  }
  return html`<section>
    <${ErrorText} error=${error} />
    ${jobs && jobs.length === 0 && html`<${Empty}>No maintenance jobs are registered.<//>`}
    <table class="grid as-cards">
      <thead><tr><th>Job</th><th>Every</th><th>Last run</th><th>Duration</th><th>Result</th><th>Next run</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${(jobs ?? []).map((job) => html`<tr key=${job.name}>
        <td data-label="Job">${job.name}${job.running && html` <span class="badge lifecycle">running</span>`}</td>
        <td data-label="Every">${job.intervalSeconds}s</td>
        <td data-label="Last run">${job.lastRunAt ? html`<${Time} ms=${job.lastRunAt} now=${now} />` : "never"}</td>
        <td data-label="Duration">${job.durationMs ?? "—"}${job.durationMs !== null && job.durationMs !== undefined ? " ms" : ""}</td>
        <td data-label="Result">${job.error ? html`<span class="error">${job.error}</span>` : job.result ? html`<code>${JSON.stringify(job.result)}</code>` : "—"}</td>
        <td data-label="Next run">${job.nextRunAt ? html`<${Time} ms=${job.nextRunAt} now=${now} future />` : "—"}</td>
        <td data-label="Actions"><button disabled=${!can("config:write") || job.running || running === job.name} onClick=${() => run(job.name)}>Run now</button>
          <${ErrorText} error=${rowError[job.name]} /></td>
      </tr>`)}</tbody>
    </table>
  </section>`;
}
