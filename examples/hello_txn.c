/*
 * hello_txn.c - the README's example: three jobs on three threads, one
 * callback when all of them are done.
 */
#include <jobtxn.h>
#include <pthread.h>
#include <stdio.h>

static void *io_thread(void *job)
{
	/* ... the job's real work ... */
	jt_job_complete(job, 0);
	return NULL;
}

static void all_done(void *opaque, int status)
{
	printf("%s: all jobs finished, status %d (%s)\n", (const char *)opaque, status,
	       jt_strerror(status));
}

int main(void)
{
	jt_runtime *rt;
	jt_txn *txn;
	jt_job *job[3];
	pthread_t th[3];
	int err;

	if ((err = jt_runtime_create(NULL, &rt)) != 0) {
		fprintf(stderr, "jt_runtime_create: %s\n", jt_strerror(err));
		return 1;
	}
	jt_txn_begin(rt, 0, &txn);
	for (int i = 0; i < 3; i++) {
		jt_txn_add(txn, NULL, NULL, &job[i]);
		jt_job_arm(job[i]);
		pthread_create(&th[i], NULL, io_thread, job[i]);
	}
	jt_txn_commit(txn, all_done, "backup");
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	return jt_runtime_destroy(rt) == 0 ? 0 : 1;
}
