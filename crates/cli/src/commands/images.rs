//! `berth images` / `image ls`: `GET /images/json` rendered like docker's image formatter
//! (one row per repository:tag, `<none>` for dangling images).

use anyhow::Result;
use berth_api::image::ImageSummary;
use berth_client::{Client, ImageListOptions};
use clap::Args;
use gotmpl::Value as TValue;

use berth_reference::{split_tag, Reference, DEFAULT_TAG};

use super::filters;
use super::ps::created_at;
use crate::format::{self, ctx, map_value, units};

#[derive(Args, Debug)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Show digests
    #[arg(long = "digests")]
    pub digests: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

pub const DEFAULT_FORMAT: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
pub const DIGEST_FORMAT: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

pub fn list_options(a: &ImagesArgs) -> Result<ImageListOptions> {
    let mut flags = a.filter.clone();
    if let Some(r) = &a.reference {
        flags.push(format!("reference={r}"));
    }
    Ok(ImageListOptions {
        all: a.all,
        filters: filters(&flags)?,
    })
}

pub async fn run(client: &Client, a: ImagesArgs) -> Result<i32> {
    let list = client.image_list(&list_options(&a)?).await?;
    let fmt_src = if a.quiet {
        "{{.ID}}".to_string()
    } else {
        match &a.format {
            Some(f) if !f.is_empty() => f.clone(),
            _ if a.digests => DIGEST_FORMAT.to_string(),
            _ => DEFAULT_FORMAT.to_string(),
        }
    };
    let now = chrono::Utc::now().timestamp();
    out!("{}", render(&list, &fmt_src, a.no_trunc, a.digests, now)?);
    Ok(0)
}

/// A repository as `docker images` shows it (`docker.io/library/x` → `x`).
fn familiar(name: &str) -> String {
    Reference::parse(name)
        .map(|r| r.familiar_name())
        .unwrap_or_else(|_| name.to_string())
}

/// (repository, tag, digest) rows for one image, as docker's `imageFormatTaggedAndDigest`.
pub fn image_rows(img: &ImageSummary, show_digests: bool) -> Vec<(String, String, String)> {
    let tags = &img.repo_tags;
    let digests = &img.repo_digests;
    let dangling = (tags.is_empty() && digests.is_empty())
        || (tags[..] == ["<none>:<none>"] && digests[..] == ["<none>@<none>"]);
    if dangling {
        return vec![("<none>".into(), "<none>".into(), "<none>".into())];
    }
    let mut repo_tags: Vec<(String, Vec<String>)> = Vec::new();
    for t in tags.iter().filter(|t| t.as_str() != "<none>:<none>") {
        let (repo, tag) = split_tag(t);
        let (repo, tag) = (familiar(repo), tag.unwrap_or(DEFAULT_TAG).to_string());
        match repo_tags.iter_mut().find(|(r, _)| *r == repo) {
            Some((_, v)) => v.push(tag),
            None => repo_tags.push((repo, vec![tag])),
        }
    }
    let mut repo_digests: Vec<(String, Vec<String>)> = Vec::new();
    for d in digests.iter().filter(|d| d.as_str() != "<none>@<none>") {
        let Some((repo, dg)) = d.split_once('@') else {
            continue;
        };
        let repo = familiar(repo);
        match repo_digests.iter_mut().find(|(r, _)| *r == repo) {
            Some((_, v)) => v.push(dg.to_string()),
            None => repo_digests.push((repo, vec![dg.to_string()])),
        }
    }
    let mut rows = Vec::new();
    for (repo, tags) in &repo_tags {
        let pos = repo_digests.iter().position(|(r, _)| r == repo);
        let ds = pos.map(|p| repo_digests.remove(p).1).unwrap_or_default();
        for tag in tags {
            if !show_digests || ds.is_empty() {
                rows.push((repo.clone(), tag.clone(), "<none>".into()));
            } else {
                for d in &ds {
                    rows.push((repo.clone(), tag.clone(), d.clone()));
                }
            }
        }
    }
    for (repo, ds) in repo_digests {
        if show_digests {
            for d in ds {
                rows.push((repo.clone(), "<none>".into(), d));
            }
        } else {
            rows.push((repo, "<none>".into(), String::new()));
        }
    }
    rows
}

pub fn header() -> TValue {
    map_value(ctx(&[
        ("ID", "IMAGE ID".into()),
        ("Repository", "REPOSITORY".into()),
        ("Tag", "TAG".into()),
        ("Digest", "DIGEST".into()),
        ("CreatedSince", "CREATED".into()),
        ("CreatedAt", "CREATED AT".into()),
        ("Size", "SIZE".into()),
        ("Containers", "CONTAINERS".into()),
        ("VirtualSize", "VIRTUAL SIZE".into()),
        ("SharedSize", "SHARED SIZE".into()),
        ("UniqueSize", "UNIQUE SIZE".into()),
    ]))
}

pub fn render(
    list: &[ImageSummary],
    fmt_src: &str,
    no_trunc: bool,
    digests: bool,
    now: i64,
) -> Result<String> {
    let f = format::parse(fmt_src, DEFAULT_FORMAT)?;
    let mut rows = Vec::new();
    for img in list {
        let id = if no_trunc {
            img.id.clone()
        } else {
            units::short_id(&img.id)
        };
        let created = img.created;
        let size = img.size;
        let shared = img.shared_size;
        let containers = img.containers;
        let virt = img.virtual_size.unwrap_or(size);
        for (repo, tag, digest) in image_rows(img, digests) {
            rows.push(map_value(ctx(&[
                ("ID", id.clone()),
                ("Repository", repo),
                ("Tag", tag),
                ("Digest", digest),
                ("CreatedSince", units::ago(created, now)),
                ("CreatedAt", created_at(created)),
                ("Size", units::human_size_precision(size as f64, 3)),
                (
                    "Containers",
                    if containers < 0 {
                        "N/A".into()
                    } else {
                        containers.to_string()
                    },
                ),
                ("VirtualSize", units::human_size_precision(virt as f64, 3)),
                (
                    "SharedSize",
                    if shared < 0 {
                        "N/A".into()
                    } else {
                        units::human_size_precision(shared as f64, 3)
                    },
                ),
                (
                    "UniqueSize",
                    if shared < 0 {
                        "N/A".into()
                    } else {
                        units::human_size_precision((size - shared) as f64, 3)
                    },
                ),
            ])));
        }
    }
    f.render_rows(&header(), &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn images(v: Value) -> Vec<ImageSummary> {
        serde_json::from_value(v).unwrap()
    }

    fn trace_list() -> Vec<ImageSummary> {
        // `docker images` answer from section 25 of the traces.
        images(json!([
            {"Containers": -1, "Created": 1795448449, "Id": "sha256:d9a3e850a8dd0123456789",
             "Labels": {}, "ParentId": "sha256:b17529137f4b", "RepoDigests": null,
             "RepoTags": ["committed:1"], "SharedSize": -1, "Size": 1985528, "VirtualSize": 1985528},
            {"Containers": -1, "Created": 1795448367, "Id": "sha256:b17529137f4b0123456789",
             "Labels": null, "ParentId": "", "RepoDigests": null,
             "RepoTags": ["busybox:latest"], "SharedSize": -1, "Size": 1985512, "VirtualSize": 1985512}
        ]))
    }

    #[test]
    fn default_table_matches_trace() {
        let out = render(&trace_list(), DEFAULT_FORMAT, false, false, 1795448459).unwrap();
        assert_eq!(
            out,
            "REPOSITORY   TAG       IMAGE ID       CREATED              SIZE\n\
             committed    1         d9a3e850a8dd   10 seconds ago       1.99MB\n\
             busybox      latest    b17529137f4b   About a minute ago   1.99MB\n"
        );
    }

    #[test]
    fn dangling_digests_and_quiet() {
        let list = images(json!([
            {"Id": "sha256:aaa", "RepoTags": [], "RepoDigests": [], "Created": 0, "Size": 0},
            {"Id": "sha256:bbb", "RepoTags": ["docker.io/library/x:1", "x:2"],
             "RepoDigests": ["x@sha256:dd"], "Created": 0, "Size": 0}
        ]));
        let out = render(
            &list,
            "{{.Repository}}:{{.Tag}}@{{.Digest}}",
            false,
            true,
            0,
        )
        .unwrap();
        assert_eq!(out, "<none>:<none>@<none>\nx:1@sha256:dd\nx:2@sha256:dd\n");
        let out = render(&list, "{{.ID}}", false, false, 0).unwrap();
        assert_eq!(out, "aaa\nbbb\nbbb\n");
        let out = render(&list, "{{.ID}}", true, false, 0).unwrap();
        assert_eq!(out, "sha256:aaa\nsha256:bbb\nsha256:bbb\n");
    }

    #[test]
    fn reference_argument_becomes_filter() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            a: ImagesArgs,
        }
        let a = T::try_parse_from(["t", "-a", "busybox"]).unwrap().a;
        assert_eq!(
            list_options(&a).unwrap().query().encode(),
            "all=1&filters=%7B%22reference%22%3A%7B%22busybox%22%3Atrue%7D%7D"
        );
    }
}
