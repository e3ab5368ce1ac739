//! The hot path's round trips on a single server: a request's independent
//! steps in one pipeline, and a change with its audit event in another
//! (see ARCHITECTURE.md, "Storage"). A cluster takes the ordinary path,
//! since a pipeline there would span slots.

use redis::{FromRedisValue, Value};
use time::OffsetDateTime;

use super::{Conn, RedisStore, UPDATE_CRED_SRC, decode, ttl_ms};
use crate::domain::audit::AuditEvent;
use crate::domain::user::User;
use crate::store::batch::{self, Got, Put, Step};
use crate::store::{Change, StoreError, cred_changed_meanwhile, decode_expiring, encode_expiring};

fn parse<T: FromRedisValue>(v: Value) -> Result<T, StoreError> {
    T::from_redis_value(v).map_err(|e| StoreError::Backend(e.to_string()))
}

impl RedisStore {
    /// This worker's connection to a single server; `None` on a cluster.
    fn single_server(&self) -> Option<Conn> {
        match self.c() {
            c @ Conn::Server(_) => Some(c),
            Conn::Cluster(_) => None,
        }
    }

    fn add_put(&self, pipe: &mut redis::Pipeline, p: &Put<'_>, now: OffsetDateTime) {
        let key = self.eph_key(p.ns, p.id);
        let ttl = ttl_ms(p.expires_at, now);
        if ttl <= 0 {
            pipe.del(key).ignore();
        } else {
            pipe.cmd("SET")
                .arg(key)
                .arg(encode_expiring(&p.value, p.expires_at))
                .arg("PX")
                .arg(ttl)
                .ignore();
        }
    }

    pub(super) async fn batch_steps(
        &self,
        steps: &[Step<'_>],
        now: OffsetDateTime,
    ) -> Result<Vec<Got>, StoreError> {
        let Some(mut c) = self.single_server() else {
            return batch::one_by_one(self, steps, now).await;
        };
        let mut pipe = redis::pipe();
        for step in steps {
            match step {
                Step::Get(ns, id) => pipe.get(self.eph_key(*ns, id)),
                Step::Take(ns, id) => pipe.cmd("GETDEL").arg(self.eph_key(*ns, id)),
                // Answers nothing once ignored; its place is filled below.
                Step::Put(p) => {
                    self.add_put(&mut pipe, p, now);
                    continue;
                }
                Step::User(id) => pipe.get(self.user_key(id)),
                Step::Credential { user_id, cred_id } => {
                    pipe.hget(self.creds_key(user_id), cred_id)
                }
                Step::Policy => pipe.get(self.policy_key()),
            };
        }
        let mut values = pipe.query_async::<Vec<Value>>(&mut c).await?.into_iter();
        let mut next = || {
            values
                .next()
                .ok_or_else(|| StoreError::Backend("short pipeline answer".into()))
        };
        let mut out = Vec::with_capacity(steps.len());
        for step in steps {
            out.push(match step {
                Step::Get(..) | Step::Take(..) => Got::Bytes(
                    parse::<Option<Vec<u8>>>(next()?)?
                        .and_then(|r| decode_expiring(&r, now).map(<[u8]>::to_vec)),
                ),
                Step::Put(_) => Got::Stored,
                Step::User(_) => Got::User(decode::<User>(parse(next()?)?)?.map(Box::new)),
                Step::Credential { .. } => Got::Credential(decode(parse(next()?)?)?),
                Step::Policy => Got::Policy(decode(parse(next()?)?)?),
            });
        }
        Ok(out)
    }

    /// A passkey's new counter and last use with its event, in one round
    /// trip: registered outbox, the change pushing the event, and the event
    /// moved into the log only if the change pushed it. `then`: the records
    /// stored and the further events pushed by the same script, so only
    /// with the change (a sign-in's session and code), and those events
    /// moved too. `None`: not a change this path takes.
    pub(super) async fn apply_pipelined(
        &self,
        change: &Change<'_>,
        event: &AuditEvent,
        json: &str,
        then: Option<(&[Put<'_>], &[AuditEvent], OffsetDateTime)>,
    ) -> Option<Result<bool, StoreError>> {
        let Change::UpdateCredential { cred, prior: None } = change else {
            return None;
        };
        let mut c = self.single_server()?;
        Some(
            async {
                let outbox = self.user_outbox(&cred.user_id);
                let (puts, also, now) = then.unwrap_or((&[], &[], OffsetDateTime::UNIX_EPOCH));
                let also = also
                    .iter()
                    .map(|e| Ok((e, serde_json::to_string(e)?)))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                let mut script = redis::cmd("EVAL");
                script
                    .arg(UPDATE_CRED_SRC)
                    .arg(2 + puts.len())
                    .arg(self.creds_key(&cred.user_id))
                    .arg(&outbox);
                for p in puts {
                    script.arg(self.eph_key(p.ns, p.id));
                }
                script
                    .arg(&cred.id)
                    .arg(serde_json::to_string(cred)?)
                    .arg(json)
                    .arg("")
                    .arg(puts.len());
                for p in puts {
                    script
                        .arg(encode_expiring(&p.value, p.expires_at))
                        .arg(ttl_ms(p.expires_at, now).max(0));
                }
                for (_, json) in &also {
                    script.arg(json);
                }
                let mut pipe = redis::pipe();
                pipe.sadd(self.outboxes_key(), &outbox).ignore();
                pipe.add_command(script);
                pipe.add_command(self.log_event_cmd(event, json, Some(&outbox), true)?)
                    .ignore();
                for (e, json) in &also {
                    pipe.add_command(self.log_event_cmd(e, json, Some(&outbox), true)?)
                        .ignore();
                }
                let (n,): (i64,) = pipe.query_async(&mut c).await?;
                match n {
                    1 => Ok(true),
                    -2 => Err(cred_changed_meanwhile()),
                    _ => Ok(false),
                }
            }
            .await,
        )
    }

    /// What follows an applied change, in one round trip.
    pub(super) async fn after_change(
        &self,
        puts: &[Put<'_>],
        also: &[AuditEvent],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        // Nothing to send (the client fails an empty pipeline).
        if puts.is_empty() && also.is_empty() {
            return Ok(());
        }
        let Some(mut c) = self.single_server() else {
            return crate::store::batch::after_one_by_one(self, puts, also, now).await;
        };
        let mut pipe = redis::pipe();
        for p in puts {
            self.add_put(&mut pipe, p, now);
        }
        for e in also {
            let json = serde_json::to_string(e)?;
            pipe.add_command(self.log_event_cmd(e, &json, None, false)?)
                .ignore();
        }
        let () = pipe.query_async(&mut c).await?;
        Ok(())
    }
}
