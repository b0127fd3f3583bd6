import { rolePrincipal, type WhoCanSubject } from './who-can.js';

/**
 * The roles a policy set names (`Kuraban::Role::"x"` outside comments), plus `operator`: the rows of a
 * who-can report. Cedar has no "list the entities a policy mentions" call; the policy text's grammar
 * makes this exact once `//` comments are gone (a role id is always written as that literal).
 */
export function rolesNamedIn(text: string): string[] {
  const code = text.replace(/"(?:[^"\\]|\\.)*"|\/\/[^\n]*/g, (m) => (m.startsWith('//') ? '' : m));
  const out = new Set<string>(['operator']);
  for (const m of code.matchAll(/Kuraban::Role::"([a-z][a-z0-9_-]{0,62})"/g)) out.add(m[1] as string);
  return [...out].sort();
}

/** The who-can rows for a policy's roles: each as an API key or one-factor sign-in sees it, and after multi-factor sign-in (step-up). */
export function roleSubjects(text: string): WhoCanSubject[] {
  return rolesNamedIn(text).flatMap((r) => [
    { label: `role:${r}`, principal: rolePrincipal(r) },
    { label: `role:${r}+mfa`, principal: rolePrincipal(r, true) },
  ]);
}
