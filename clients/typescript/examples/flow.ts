/**
 * Sign up, read who we are, start a SEARCH job, list jobs and read the job back: every request
 * and answer typed from the OpenAPI document. Checked by `npm run check`; to run it against a
 * server (`leedz serve --upgrade --seed`), use Node 22.6+: `node --experimental-strip-types`.
 */
import { createLeedzClient, LeedzApiError, type Schemas, unwrap } from "../src/client";

export async function flow(baseUrl: string): Promise<Schemas["JobOut"]> {
  let accessToken: string | undefined;
  const api = createLeedzClient({ baseUrl, token: () => accessToken });

  const tokens: Schemas["Tokens"] = unwrap(
    await api.POST("/v1/auth/signup", {
      body: {
        email: `ada+${Date.now()}@example.com`,
        password: "correct horse battery staple",
        name: "Ada Lovelace",
        tenantName: "Analytical Engines",
      },
    }),
  );
  accessToken = tokens.accessToken;

  const me: Schemas["MeOut"] = unwrap(await api.GET("/v1/auth/me"));
  const canCreate: boolean = me.permissions.includes("jobs:create");
  console.log(`${me.user.email} is ${me.role} of ${me.tenant.name} (create jobs: ${canCreate})`);

  const job: Schemas["JobOut"] = unwrap(
    await api.POST("/v1/jobs", {
      body: { type: "SEARCH", input: { query: "bakeries", location: "Lisbon", maxResults: 20 } },
    }),
  );

  const page: Schemas["Page_JobOut_"] = unwrap(
    await api.GET("/v1/jobs", { params: { query: { status: "PENDING", limit: 10 } } }),
  );
  for (const listed of page.items) console.log(listed.id, listed.type, listed.status);
  if (page.nextCursor) console.log("more after", page.nextCursor);

  const read: Schemas["JobOut"] = unwrap(
    await api.GET("/v1/jobs/{job_id}", { params: { path: { job_id: job.id } } }),
  );
  const status: Schemas["JobStatus"] = read.status;
  console.log(`job ${read.id}: ${status} ${read.progress}%`);
  return read;
}

export async function main(baseUrl = "http://127.0.0.1:8000"): Promise<void> {
  try {
    await flow(baseUrl);
  } catch (error) {
    if (error instanceof LeedzApiError && error.code === "quota_exceeded") {
      console.error("the plan's search quota is used up:", error.problem.detail);
      return;
    }
    throw error;
  }
}
