// One job's card: built once with DOM APIs (no innerHTML: payloads and results are untrusted text), then updated.
import { canRetry, elapsedMs, formatBytes, formatDuration, isTerminal, prettyJson, type JobStatus } from './jobs';
import type { Entry } from './store';

// Status is always spelled out, with a symbol, so it reads without colour.
const BADGE: Record<JobStatus, string> = {
  PENDING: '○',
  RUNNING: '▶',
  SUCCEEDED: '✔',
  FAILED: '✖',
  CANCELLED: '⊘',
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

const hidden = (text: string): HTMLSpanElement => el('span', { className: 'visually-hidden', textContent: text });

export const shortId = (id: string): string => id.slice(0, 8);

export interface JobActions {
  cancel(id: string): void;
  retry(id: string): void;
}

export class JobView {
  readonly root: HTMLLIElement;
  private readonly badge = el('span', { className: 'badge' });
  private readonly badgeIcon = el('span', { className: 'badge-icon' });
  private readonly badgeText = el('span');
  private readonly progress = el('progress', { max: 100 });
  private readonly percent = el('span', { className: 'percent' });
  private readonly message = el('p', { className: 'message' });
  private readonly elapsed = el('time', { className: 'elapsed' });
  private readonly attempts = el('span', { className: 'attempts' });
  private readonly result = el('pre', { className: 'result', tabIndex: 0 });
  private readonly resultBox: HTMLElement;
  private readonly artifactList = el('ul', { className: 'artifacts' });
  private readonly artifactBox: HTMLElement;
  private readonly error = el('p', { className: 'job-error' });
  private readonly note = el('p', { className: 'note' });
  private readonly cancelButton: HTMLButtonElement;
  private readonly retryButton: HTMLButtonElement;

  constructor(private readonly entry: Entry, actions: JobActions) {
    const { id, type } = entry.job;
    const dom = `job-${id}`;
    const label = `${type} job ${shortId(id)}`;
    this.progress.id = `${dom}-progress`;
    this.badgeIcon.setAttribute('aria-hidden', 'true');
    this.badge.append(this.badgeIcon, ' ', this.badgeText);
    this.result.setAttribute('aria-label', `Result of ${label}`);
    this.cancelButton = el('button', { type: 'button', className: 'cancel' }, 'Cancel', hidden(` ${label}`));
    this.cancelButton.addEventListener('click', () => actions.cancel(id));
    this.retryButton = el('button', { type: 'button', className: 'secondary retry' }, 'Retry', hidden(` ${label}`));
    this.retryButton.addEventListener('click', () => actions.retry(id));
    this.resultBox = el('div', { className: 'result-box' }, el('h4', { textContent: 'Result' }), this.result);
    this.artifactBox = el('div', { className: 'artifact-box' }, el('h4', { textContent: 'Files' }), this.artifactList);

    const title = el('h3', { id: `${dom}-title`, tabIndex: -1 }, el('span', { className: 'type', textContent: type }), ' ',
      el('code', { title: id, textContent: shortId(id) }), hidden(' status:'), ' ', this.badge);
    this.root = el('li', { className: 'job' },
      el('article', { className: 'job-card' },
        title,
        el('div', { className: 'progress-row' },
          el('label', { htmlFor: this.progress.id }, 'Progress', hidden(` of ${label}`)), this.progress, this.percent),
        this.message,
        el('p', { className: 'timing' }, 'Elapsed ', this.elapsed, ' · ', this.attempts, ' · id ',
          el('code', { className: 'full-id', textContent: id })),
        this.resultBox,
        this.artifactBox,
        this.error,
        this.note,
        el('div', { className: 'job-actions' }, this.cancelButton, this.retryButton)));
    this.root.dataset.jobId = id;
    this.root.setAttribute('aria-labelledby', title.id);
    this.render();
  }

  /** Re-render from the entry (after an update, a re-sync, a cancel or a retry). */
  render(): void {
    const { job } = this.entry;
    const terminal = isTerminal(job);
    this.root.dataset.status = job.status;
    this.root.dataset.version = String(job.version);
    this.badge.dataset.status = job.status;
    this.badgeIcon.textContent = BADGE[job.status];
    this.badgeText.textContent = job.status;

    const progress = job.status === 'SUCCEEDED' ? 100 : job.progress;
    if (progress === null || progress === undefined) {
      this.progress.removeAttribute('value'); // indeterminate until the task reports
      this.percent.textContent = job.status === 'PENDING' ? 'queued' : '';
    } else {
      this.progress.value = progress;
      this.percent.textContent = `${progress} %`;
    }
    this.message.textContent = job.message ?? '';
    this.message.hidden = !job.message;
    this.attempts.textContent = job.attempts === 1 ? '1 attempt' : `${job.attempts} attempts`;
    this.tick(Date.now());

    this.result.textContent = prettyJson(job.result);
    this.resultBox.hidden = job.result === null;
    const artifacts = job.artifacts ?? [];
    this.artifactList.replaceChildren(...artifacts.map((a) => el('li', {},
      a.url ? el('a', { href: a.url, download: a.name, textContent: a.name }) : el('span', { textContent: a.name }),
      ` (${formatBytes(a.size)}, ${a.contentType})`)));
    this.artifactBox.hidden = artifacts.length === 0;
    this.error.textContent = job.error ? `Error: ${job.error.type}: ${job.error.message}` : '';
    this.error.hidden = !job.error;

    this.cancelButton.hidden = terminal;
    this.cancelButton.disabled = job.cancelRequested;
    this.retryButton.hidden = !canRetry(job);
    if (job.cancelRequested && !terminal) this.setNote('Cancellation requested; the task stops at its next check.');
    else if (this.note.dataset.kind !== 'error') this.setNote('');
  }

  tick(now: number): void {
    const { job } = this.entry;
    this.elapsed.textContent = formatDuration(elapsedMs(job, now));
    this.elapsed.dateTime = `PT${(elapsedMs(job, now) / 1000).toFixed(1)}S`;
  }

  setNote(text: string, kind: 'info' | 'error' = 'info'): void {
    this.note.textContent = text;
    this.note.dataset.kind = text ? kind : '';
    this.note.hidden = !text;
  }

  setCancelling(busy: boolean): void {
    this.cancelButton.disabled = busy || this.entry.job.cancelRequested;
    this.cancelButton.setAttribute('aria-busy', String(busy));
  }

  setRetrying(busy: boolean): void {
    this.retryButton.disabled = busy;
    this.retryButton.setAttribute('aria-busy', String(busy));
  }
}
