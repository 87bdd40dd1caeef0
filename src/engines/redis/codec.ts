import type { CloudEvent } from '../../contracts/index.ts';

/** A stream entry as ioredis returns it: its id and flat field list. */
export type StreamEntry = [id: string, fields: string[]];

/** What an entry holds: the event, or why it cannot be read. */
export type DecodedEntry = { readonly event: CloudEvent; readonly unreadable: false } | { readonly event: CloudEvent; readonly unreadable: true };

function field(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * An entry back to its envelope: `e` is the event as appended; `sequence` comes from the entry id
 * and `recordedtime` from `r`, both given by the append script. An entry that is not one of ours
 * (written by hand, damaged) becomes an `unreadable` placeholder the subscription dead-letters.
 */
export function decodeEntry(sequence: number, fields: readonly string[]): DecodedEntry {
  const recorded = Number(field(fields, 'r'));
  const recordedtime = new Date(Number.isFinite(recorded) ? recorded : 0).toISOString();
  const raw = field(fields, 'e');
  try {
    const event = JSON.parse(raw ?? '') as { -readonly [K in keyof CloudEvent]: CloudEvent[K] };
    if (typeof event?.id !== 'string' || typeof event.type !== 'string') throw new Error('not an event');
    // A fresh object from JSON.parse: completed in place rather than copied (one object per event).
    event.sequence = sequence;
    event.recordedtime = recordedtime;
    return { event, unreadable: false };
  } catch {
    return {
      event: {
        specversion: '1.0',
        id: `unreadable-${sequence}`,
        source: '/flamingo',
        type: field(fields, 't') ?? 'unreadable',
        time: recordedtime,
        datacontenttype: 'application/json',
        data: raw ?? null,
        sequence,
        recordedtime,
      },
      unreadable: true,
    };
  }
}

/** The type of an entry without parsing its event. */
export const typeOfEntry = (fields: readonly string[]): string | undefined => field(fields, 't');
/** The recorded time (ms) of an entry. */
export const recordedOfEntry = (fields: readonly string[]): number => Number(field(fields, 'r'));
