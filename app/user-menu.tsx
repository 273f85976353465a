// The signed-in user and sign-out, in the header. Filled in by access control (issue #6).
export function UserMenu() {
  return null;
}
