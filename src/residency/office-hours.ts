import holidayJp from '@holiday-jp/holiday_jp';

/** Japan Standard Time is UTC+9 all year (no daylight saving). */
const JST_OFFSET_MS = 9 * 3600 * 1000;
/** Night, in JST: from 22:00 to 06:00. */
export const NIGHT_START_HOUR = 22;
export const NIGHT_END_HOUR = 6;

const HOLIDAYS = holidayJp.holidays as unknown as Readonly<Record<string, { readonly name: string; readonly name_en: string }>>;

/** The JST calendar date (YYYY-MM-DD) and hour of an instant. */
export function jstParts(at: Date): { date: string; hour: number; weekday: number; month: number; day: number } {
  const j = new Date(at.getTime() + JST_OFFSET_MS);
  return { date: j.toISOString().slice(0, 10), hour: j.getUTCHours(), weekday: j.getUTCDay(), month: j.getUTCMonth() + 1, day: j.getUTCDate() };
}

/** `2026-12-03T10:15:00+09:00`-style JST rendering of an instant (for people reading a report). */
export function jstText(at: Date): string {
  return `${new Date(at.getTime() + JST_OFFSET_MS).toISOString().slice(0, 19)}+09:00`;
}

export function isNight(at: Date): boolean {
  const { hour } = jstParts(at);
  return hour >= NIGHT_START_HOUR || hour < NIGHT_END_HOUR;
}

/**
 * Why the instant falls on a day government offices are closed, or null: a national holiday
 * (国民の祝日, from @holiday-jp/holiday_jp), Saturday or Sunday, or the year-end days 29 December to
 * 3 January (行政機関の休日に関する法律 Article 1(1)).
 */
export function closedDay(at: Date): string | null {
  const p = jstParts(at);
  const holiday = HOLIDAYS[p.date];
  if (holiday) return `holiday:${holiday.name}`;
  if (p.weekday === 0) return 'sunday';
  if (p.weekday === 6) return 'saturday';
  if ((p.month === 12 && p.day >= 29) || (p.month === 1 && p.day <= 3)) return 'year-end';
  return null;
}

/** The start of a JST calendar day (YYYY-MM-DD) as an instant. */
export function jstDayStart(date: string): Date {
  return new Date(Date.parse(`${date}T00:00:00.000Z`) - JST_OFFSET_MS);
}
