import { KubeObject } from '../../object';
import { since } from '../format';
import { columns, Printer, PrinterRow } from '../printer';

/** The fields the Event columns read, whichever API group the event was written through. */
interface EventView {
  involvedObject: { kind?: string; name?: string; fieldPath?: string };
  message?: string;
  source?: { component?: string; host?: string };
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  count?: number;
  series?: { count?: number; lastObservedTime?: string };
  reportingController?: string;
  reportingInstance?: string;
}

function coreEventView(event: KubeObject): EventView {
  return { ...event, involvedObject: event.involvedObject ?? {} };
}

/** events.k8s.io/v1 renames the core fields; both print through the same columns. */
function eventsV1View(event: KubeObject): EventView {
  return {
    involvedObject: event.regarding ?? {},
    message: event.note,
    source: event.deprecatedSource,
    firstTimestamp: event.deprecatedFirstTimestamp,
    lastTimestamp: event.deprecatedLastTimestamp,
    eventTime: event.eventTime,
    count: event.deprecatedCount,
    series: event.series,
    reportingController: event.reportingController,
    reportingInstance: event.reportingInstance,
  };
}

function sourceCell(view: EventView): string {
  const component = view.source?.component || view.reportingController || '';
  const instance = view.source?.host || view.reportingInstance || '';
  return instance ? `${component}, ${instance}` : component;
}

const EVENT_COLUMNS = columns(
  ['Last Seen', 'string', 'Time since the event was last observed.'],
  ['Type', 'string', 'Normal or Warning.'],
  ['Reason', 'string', 'Short machine-readable cause of the event.'],
  ['Object', 'string', 'The object the event is about.'],
  ['Subobject', 'string', 'Part of the object the event is about, such as a container.', 'wide'],
  ['Source', 'string', 'Component that reported the event.', 'wide'],
  ['Message', 'string', 'Human-readable description of the event.'],
  ['First Seen', 'string', 'Time since the event was first observed.', 'wide'],
  ['Count', 'string', 'How many times the event occurred.', 'wide'],
  ['Name', 'string', 'Name of the event object.', 'wide'],
);

function eventRow(event: KubeObject, view: EventView, now: Date): PrinterRow {
  const firstSeen = view.firstTimestamp ? since(view.firstTimestamp, now) : since(view.eventTime, now);
  let lastSeen = view.lastTimestamp ? since(view.lastTimestamp, now) : firstSeen;
  let count = view.count ?? 0;
  if (view.series) {
    lastSeen = since(view.series.lastObservedTime, now);
    count = view.series.count ?? 0;
  } else if (count === 0) {
    // Events written through events.k8s.io leave the count unset for a single occurrence.
    count = 1;
  }
  const { kind = '', name = '', fieldPath = '' } = view.involvedObject;
  const target = name ? `${kind.toLowerCase()}/${name}` : kind.toLowerCase();
  return {
    cells: [
      lastSeen,
      event.type ?? '',
      event.reason ?? '',
      target,
      fieldPath,
      sourceCell(view),
      (view.message ?? '').trim(),
      firstSeen,
      count,
      event.metadata.name ?? '',
    ],
  };
}

export const eventPrinter: Printer = {
  columns: EVENT_COLUMNS,
  row: (event, now) => eventRow(event, coreEventView(event), now),
};

export const eventsV1Printer: Printer = {
  columns: EVENT_COLUMNS,
  row: (event, now) => eventRow(event, eventsV1View(event), now),
};
