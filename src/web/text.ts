/** "1 page", "3 pages". */
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** Lower case, without accents: "Élise" is found by "elise". */
export const foldText = (text: string): string => text.normalize('NFD').replace(/\p{Mn}/gu, '').toLowerCase();
