// How long transient status-bar messages stay: long enough to read the sentence, short enough not
// to sit over the next thing the user does.

/** A confirmation of something the user just did (a toggle). */
export const CONFIRM_MESSAGE_MS = 3000;
/** The outcome of a request (nothing to insert). */
export const RESULT_MESSAGE_MS = 4000;
/** A request that could not run (the model is not working): one more sentence to read. */
export const PROBLEM_MESSAGE_MS = 5000;
