// Shared console state: the logged-in user (with the capabilities the server grants) and the halls.
export const ctx = { me: null, halls: [], can: (cap) => !!ctx.me && ctx.me.can.includes(cap) };

export function hallName(id) {
  const hall = ctx.halls.find((x) => x.id === id);
  return hall ? hall.name : id;
}
