// What parseConfig reports about objects it could not use, and the error classes callers that prefer to throw
// can turn a report into.

/**
 * ConfigProblem is one object parseConfig rejected: its kind and name (so the controller can put a condition
 * or an Event on exactly that object), a message that already names the object, and whether the problem may
 * go away on its own because it names an object that may still arrive (a BFDProfile, a Secret, a Community).
 */
export interface ConfigProblem {
  kind: string;
  name: string;
  namespace?: string;
  message: string;
  retryable: boolean;
}

/**
 * InvalidConfigError is a terminal configuration error: the object is wrong and stays wrong until a user edits
 * it. `code` is always "invalidConfig"; `problem` is the report it came from.
 */
export class InvalidConfigError extends Error {
  readonly code = 'invalidConfig' as const;
  readonly problem: ConfigProblem;
  constructor(problem: ConfigProblem, options?: { cause?: unknown }) {
    super(problem.message, options);
    this.name = 'InvalidConfigError';
    this.problem = problem;
  }
}

/**
 * MissingReferenceError is the retryable kind: the object names another object that does not exist (yet).
 * `code` is always "missingReference". Controllers requeue; the webhook admits (creation order is free).
 */
export class MissingReferenceError extends Error {
  readonly code = 'missingReference' as const;
  readonly problem: ConfigProblem;
  constructor(problem: ConfigProblem, options?: { cause?: unknown }) {
    super(problem.message, options);
    this.name = 'MissingReferenceError';
    this.problem = problem;
  }
}

/** problemError turns a report into the matching error class (MissingReferenceError when retryable). */
export function problemError(problem: ConfigProblem): InvalidConfigError | MissingReferenceError {
  return problem.retryable ? new MissingReferenceError(problem) : new InvalidConfigError(problem);
}

/**
 * ObjectFault is thrown inside the parse step by the code that reads one object; the parse step catches it
 * at the object boundary and records a ConfigProblem. Internal to src/config: callers see ConfigProblem.
 */
export class ObjectFault extends Error {
  readonly retryable: boolean;
  constructor(message: string, options?: { retryable?: boolean }) {
    super(message);
    this.name = 'ObjectFault';
    this.retryable = options?.retryable ?? false;
  }
}
