/** The name chosen while `list` still has it, or else the first there is: a select always shows one. */
export function chosenOrFirst(list: readonly { name: string }[], chosen: string): string {
  return list.some((item) => item.name === chosen) ? chosen : (list[0]?.name ?? '');
}
