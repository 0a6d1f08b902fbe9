import { StackError } from '../../services/stack/stack.js';

/** The StackError a Stack operation fails with; anything else, or no failure at all, fails the test. */
export async function stackErrorOf(operation: Promise<unknown>): Promise<StackError> {
  try {
    await operation;
  } catch (error) {
    if (error instanceof StackError) return error;
    throw error;
  }
  throw new Error('expected the operation to fail with a StackError');
}
