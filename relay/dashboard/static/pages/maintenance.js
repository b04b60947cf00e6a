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
    <table class="grid">
      <thead><tr><th>Job</th><th>Every</th><th>Last run</th><th>Duration</th><th>Result</th><th>Next run</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${(jobs ?? []).map((job) => html`<tr key=${job.name}>
        <td>${job.name}${job.running && html` <span class="badge lifecycle">running</span>`}</td>
        <td>${job.intervalSeconds}s</td>
        <td>${job.lastRunAt ? html`<${Time} ms=${job.lastRunAt} now=${now} />` : "never"}</td>
        <td>${job.durationMs ?? "—"}${job.durationMs !== null && job.durationMs !== undefined ? " ms" : ""}</td>
        <td>${job.error ? html`<span class="error">${job.error}</span>` : job.result ? html`<code>${JSON.stringify(job.result)}</code>` : "—"}</td>
        <td>${job.nextRunAt ? html`<${Time} ms=${job.nextRunAt} now=${now} />` : "—"}</td>
        <td><button disabled=${!can("config:write") || job.running || running === job.name} onClick=${() => run(job.name)}>Run now</button>
          <${ErrorText} error=${rowError[job.name]} /></td>
      </tr>`)}</tbody>
    </table>
  </section>`;
}
