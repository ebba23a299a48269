import { conflictExcerpt } from '../../src/workspace/conflicts';
import { isTransientError } from '../../src/workspace/git';
import { KeyedMutex } from '../../src/workspace/mutex';
import {
  hasTaskTrailer,
  isLocalRepo,
  markerLines,
  mergeMessage,
  refComponent,
  tailText,
  targetBranch,
  taskBranch,
  withTrailer,
} from '../../src/workspace/names';

describe('names', () => {
  test('branch names are valid git ref components', () => {
    expect(taskBranch('run-1/c0/planner/t3')).toBe('task/run-1_c0_planner_t3');
    expect(targetBranch('my run')).toBe('longrun/my_run');
    expect(refComponent('a..b')).toBe('a_b');
    expect(refComponent('.hidden')).toBe('_hidden');
    expect(refComponent('-flag')).toBe('_flag');
    expect(refComponent('x.lock')).toBe('x_lock');
    expect(refComponent('end.')).toBe('end_');
    expect(refComponent('')).toBe('_');
  });

  test('trailers match exact task ids only', () => {
    const message = withTrailer('Task t1: add things', 't1');
    expect(message).toBe('Task t1: add things\n\nLongrun-Task: t1');
    expect(withTrailer(message, 't1')).toBe(message); // not added twice
    expect(hasTaskTrailer(message, 't1')).toBe(true);
    expect(hasTaskTrailer(withTrailer('x', 't10'), 't1')).toBe(false);
    expect(hasTaskTrailer('mentions Longrun-Task: t1 inline', 't1')).toBe(false);
    expect(mergeMessage('run/t2', 'multi\nline   title')).toBe(
      'Merge task run/t2: multi line title\n\nLongrun-Task: run/t2',
    );
  });

  test('local paths versus URLs', () => {
    expect(isLocalRepo('/srv/repo')).toBe(true);
    expect(isLocalRepo('./repo')).toBe(true);
    expect(isLocalRepo('file:///srv/repo')).toBe(true);
    expect(isLocalRepo('https://github.com/a/b.git')).toBe(false);
    expect(isLocalRepo('ssh://git@host/a/b')).toBe(false);
    expect(isLocalRepo('git@github.com:a/b.git')).toBe(false);
  });

  test('conflict markers and excerpts', () => {
    expect(markerLines('a\n<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> theirs\n')).toEqual([2, 6]);
    expect(markerLines('a\n=======\nb\n')).toEqual([]);
    const big = [
      ...Array.from({ length: 3000 }, (_, i) => `filler ${i}`),
      '<<<<<<< HEAD',
      'ours',
      '=======',
      'theirs',
      '>>>>>>> tip',
      ...Array.from({ length: 3000 }, (_, i) => `tail ${i}`),
    ].join('\n');
    const excerpt = conflictExcerpt(big, 2_000);
    expect(excerpt).toContain('<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> tip');
    expect(excerpt).toMatch(/\[\.\.\. 2994 lines not shown \.\.\.\]/);
    expect(excerpt.length).toBeLessThan(2_000);
    expect(conflictExcerpt('small')).toBe('small');
  });

  test('text caps mark the cut', () => {
    expect(tailText('abcdef', 3)).toMatch(/3 earlier characters cut \.\.\.\]\ndef$/);
    expect(tailText('abc', 3)).toBe('abc');
  });

  test('transient git errors are told apart from real failures', () => {
    expect(isTransientError("fatal: Unable to create '/h/index.lock': File exists.")).toBe(true);
    expect(isTransientError('fatal: failed to read worktrees/t6/commondir: Success')).toBe(true);
    expect(isTransientError("fatal: cannot lock ref 'refs/heads/x': is at abc but expected def")).toBe(false);
    expect(isTransientError('fatal: not a git repository')).toBe(false);
  });
});

describe('KeyedMutex', () => {
  test('serializes per key, not across keys, and survives a failing holder', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const step = (name: string, ms: number) => async () => {
      log.push(`${name}+`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name}-`);
      return name;
    };
    const failing = mutex.run('a', async () => {
      log.push('f+');
      throw new Error('boom');
    });
    const results = await Promise.all([
      failing.catch((e: Error) => e.message),
      mutex.run('a', step('a1', 20)),
      mutex.run('a', step('a2', 1)),
      mutex.run('b', step('b1', 1)),
    ]);
    expect(results).toEqual(['boom', 'a1', 'a2', 'b1']);
    expect(log.indexOf('a1-')).toBeLessThan(log.indexOf('a2+')); // a2 waited for a1
    expect(log.indexOf('b1-')).toBeLessThan(log.indexOf('a1-')); // b did not wait for a
  });
});
