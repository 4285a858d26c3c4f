// Jobs submitted from this browser, kept in localStorage per API endpoint (a job id means nothing elsewhere).
import type { Job } from './jobs';

export interface Entry {
  job: Job;
  /** Set when job(id) answered null: the API no longer has it (e.g. the local data dir was reset). */
  missing?: boolean;
}

const MAX_ENTRIES = 100;

export class JobStore {
  private readonly key: string;
  readonly entries = new Map<string, Entry>(); // insertion order = newest first

  constructor(endpoint: string) {
    this.key = `appsync-jobs.console.v1:${endpoint}`;
    try {
      const saved = JSON.parse(localStorage.getItem(this.key) ?? '[]') as Entry[];
      for (const entry of saved) if (entry?.job?.id) this.entries.set(entry.job.id, entry);
    } catch {
      // a corrupt or foreign value: start afresh rather than break the page
    }
  }

  add(job: Job): Entry {
    const entry: Entry = { job };
    const rest = [...this.entries.entries()].filter(([id]) => id !== job.id);
    this.entries.clear();
    this.entries.set(job.id, entry);
    for (const [id, other] of rest.slice(0, MAX_ENTRIES - 1)) this.entries.set(id, other);
    this.save();
    return entry;
  }

  remove(id: string): void {
    this.entries.delete(id);
    this.save();
  }

  save(): void {
    try {
      localStorage.setItem(this.key, JSON.stringify([...this.entries.values()]));
    } catch {
      // storage full or disabled: the list still works for this page's life
    }
  }
}
