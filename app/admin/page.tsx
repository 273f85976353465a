// /admin – the user list is the first admin page.
import { redirect } from "next/navigation";

export default function AdminPage() {
  redirect("/admin/users");
}
