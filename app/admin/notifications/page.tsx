// /admin/notifications – webhooks told when a job fails or completes, or a VM has no good backup
// for a while; Send test and the delivery log (admins; see ../layout.tsx)
import { headedPage } from "@/app/components/page-header";
import { NotificationsAdmin } from "./notifications-admin";

export const metadata = { title: "Notifications · nbdhub" };

export default headedPage(
  {
    title: "Notifications",
    description: (
      <>
        Webhooks nbdhub posts to when a job fails or completes, or when a VM has had no good backup for a while: a
        generic JSON object, or Slack&apos;s <code className="font-mono text-xs">{"{ text }"}</code>. A delivery that
        fails is retried with backoff. The URL often holds a token: after it is saved it is shown only as its host.
      </>
    ),
  },
  <NotificationsAdmin />,
);
