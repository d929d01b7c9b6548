import { parsePredicate } from './predicate';

describe('the predicate language', () => {
  const pod = {
    kind: 'Pod',
    metadata: { name: 'web-1', labels: { 'app.kubernetes.io/name': 'web' } },
    spec: { replicas: '3', paused: false },
    status: {
      containerStatuses: [
        { name: 'a', state: { running: {} } },
        { name: 'b', state: { waiting: { reason: 'CrashLoopBackOff' } } },
      ],
    },
  };

  it.each([
    ['$.spec.replicas > 2', true],
    ['$.spec.replicas >= 4', false],
    ['$.kind == "Pod" && $.metadata.name =~ "^web-"', true],
    ['$.status.containerStatuses[*].state.waiting.reason == "CrashLoopBackOff"', true],
    ['$.status.containerStatuses[0].state.waiting', false],
    ["$.status.containerStatuses[-1].name == 'b'", true],
    ["$.metadata.labels['app.kubernetes.io/name'] == 'web'", true],
    ['!$.spec.paused && ($.kind == "Node" || $.kind == "Pod")', true],
    ['$.spec.missing != "x"', true],
    ['$.status.*[*].name == "a"', true],
    ['$.spec.replicas == 3', true],
  ])('%s -> %s', (source, expected) => {
    expect(parsePredicate(source)(pod)).toBe(expected);
  });

  it.each([
    ['$.spec.replicas >', /expected a literal/],
    ['spec.replicas > 2', /expected a path/],
    ['$.a == "open', /unterminated string/],
    ['$.a =~ "("', /regular expression/],
    ['$.a == 1 )', /unexpected input/],
    ['($.a == 1', /expected "\)"/],
  ])('refuses %s', (source, message) => {
    expect(() => parsePredicate(source)).toThrow(message);
  });
});
