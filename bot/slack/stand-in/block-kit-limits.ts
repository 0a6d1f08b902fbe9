/**
 * The Block Kit limits the stand-in enforces, in one table so that each has exactly one test and
 * one place to correct when Slack changes a number. Values from Slack's Block Kit reference
 * (blocks, block elements, composition objects) and chat.postMessage.
 */
export const BLOCK_KIT_LIMITS = {
  /** Blocks in one message (chat.postMessage, chat.update, response_url, ack bodies). */
  messageBlocks: 50,
  /** Blocks in one view (App Home, modals). */
  viewBlocks: 100,
  /** Characters of a message's top-level `text`; beyond it Slack answers `msg_too_long`. */
  messageText: 40_000,
  blockId: 255,
  actionId: 255,
  /** Any text object that has no tighter limit of its own. */
  textObject: 3000,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  imageUrl: 3000,
  imageAltText: 2000,
  selectOptions: 100,
  overflowOptions: 5,
  optionText: 75,
  optionValue: 150,
  placeholderText: 150,
} as const;

export type BlockKitLimit = keyof typeof BLOCK_KIT_LIMITS;
