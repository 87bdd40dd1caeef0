/**
 * Request bodies for the HTTP section: structured CloudEvents (`application/cloudevents+json`)
 * and batches (`application/cloudevents-batch+json`) of `order.placed`, each event with a fresh
 * UUIDv7 id so the collector stores every one instead of answering "duplicate".
 */
import { v7 as uuidv7 } from 'uuid';
import { orderPlacedData } from './fixtures.ts';

const ID = '@@ID@@';

/** A body maker: every call returns a new body with new ids. */
export type BodyMaker = () => string;

function incoming(n: number): string {
  return JSON.stringify({
    specversion: '1.0',
    id: ID,
    source: '/bench',
    type: 'order.placed',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: orderPlacedData(n),
  });
}

/** One structured event per body. */
export function singleBodies(variants = 64): BodyMaker {
  const templates = Array.from({ length: variants }, (_, n) => incoming(n).split(ID));
  let next = 0;
  return () => {
    const parts = templates[next++ % templates.length];
    return parts[0] + uuidv7() + parts[1];
  };
}

/** `size` events per body, as a JSON array. */
export function batchBodies(size: number, variants = 8): BodyMaker {
  const templates = Array.from({ length: variants }, (_, v) => `[${Array.from({ length: size }, (_, n) => incoming(v * size + n)).join(',')}]`.split(ID));
  let next = 0;
  return () => {
    const parts = templates[next++ % templates.length];
    let body = parts[0];
    for (let i = 1; i < parts.length; i++) body += uuidv7() + parts[i];
    return body;
  };
}
