// The jobs on the page: the caller's own, as listJobs and onMyJobsUpdated report them. Nothing is kept in the
// browser: the API is the list (another browser of the same user sees the same jobs), this is only its view.
import { needsLinks, newerFirst, type Job } from './jobs';

export interface Entry {
  job: Job;
}

export class JobStore {
  readonly entries = new Map<string, Entry>();

  /**
   * Take a job from any source (query, mutation, event). Returns the entry and whether it is new to the page,
   * or null when it is not newer than what is shown (events may arrive late or twice; `version` decides).
   * The one exception: the same version read back with artifact links, which events never carry.
   */
  upsert(job: Job): { entry: Entry; added: boolean } | null {
    const entry = this.entries.get(job.id);
    if (!entry) {
      const added: Entry = { job };
      this.entries.set(job.id, added);
      return { entry: added, added: true };
    }
    const linksArrived = job.version === entry.job.version && needsLinks(entry.job) && !needsLinks(job);
    if (job.version < entry.job.version || (job.version === entry.job.version && !linksArrived)) return null;
    entry.job = job;
    return { entry, added: false };
  }

  /** The id of the job shown right after this one (newest first), to insert a new card in its place. */
  nextAfter(job: Job): string | null {
    let best: Job | null = null;
    for (const { job: other } of this.entries.values()) {
      if (other.id === job.id || newerFirst(job, other) > 0) continue; // `other` is newer: it comes before
      if (!best || newerFirst(other, best) < 0) best = other;
    }
    return best?.id ?? null;
  }
}
