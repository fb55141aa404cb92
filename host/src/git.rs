//! Just enough of git's on-disk layout to name a project and its branch, read directly:
//! spawning `git` would cost more than the rest of a hook run.

use std::path::{Path, PathBuf};

/// A repository found from a working directory.
#[derive(Debug)]
pub struct Repo {
    /// The working tree's top level (where `.git` is).
    pub top_level: PathBuf,
    /// The per-worktree git dir (holds `HEAD`).
    pub git_dir: PathBuf,
    /// The shared git dir (holds `config`); the same as `git_dir` outside linked worktrees.
    pub common_dir: PathBuf,
}

impl Repo {
    /// Walk up from `dir` to the first directory holding `.git` (a directory, or a file
    /// `gitdir: ...` as in linked worktrees and submodules).
    pub fn discover(dir: &Path) -> Option<Repo> {
        for top in dir.ancestors() {
            let dot_git = top.join(".git");
            let Ok(meta) = std::fs::metadata(&dot_git) else { continue };
            let git_dir = if meta.is_dir() {
                dot_git
            } else {
                let text = std::fs::read_to_string(&dot_git).ok()?;
                let target = text.strip_prefix("gitdir:")?.trim();
                top.join(target)
            };
            if !git_dir.join("HEAD").is_file() {
                continue;
            }
            let common_dir = std::fs::read_to_string(git_dir.join("commondir"))
                .map(|c| git_dir.join(c.trim()))
                .unwrap_or_else(|_| git_dir.clone());
            return Some(Repo { top_level: top.to_owned(), git_dir, common_dir });
        }
        None
    }

    /// The checked-out branch, or `None` on a detached HEAD.
    pub fn branch(&self) -> Option<String> {
        let head = std::fs::read_to_string(self.git_dir.join("HEAD")).ok()?;
        let name = head.trim().strip_prefix("ref:")?.trim();
        Some(name.strip_prefix("refs/heads/").unwrap_or(name).to_owned()).filter(|b| !b.is_empty())
    }

    /// The project's name: the repository name in `origin`'s URL (the same in every clone and
    /// worktree), else the main working tree's directory name.
    pub fn project_name(&self) -> Option<String> {
        self.origin_url()
            .and_then(|url| repo_name_from_url(&url))
            .or_else(|| self.main_top_level().file_name().map(|n| n.to_string_lossy().into_owned()))
    }

    /// In a linked worktree, the main working tree is the parent of the common git dir.
    fn main_top_level(&self) -> PathBuf {
        if self.common_dir == self.git_dir {
            return self.top_level.clone();
        }
        let common = self.common_dir.canonicalize().unwrap_or_else(|_| self.common_dir.clone());
        match common.file_name() {
            Some(n) if n == ".git" => common.parent().map(Path::to_owned).unwrap_or(common),
            _ => self.top_level.clone(),
        }
    }

    fn origin_url(&self) -> Option<String> {
        let config = std::fs::read_to_string(self.common_dir.join("config")).ok()?;
        let mut in_origin = false;
        for line in config.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_origin = line.replace(' ', "") == "[remote\"origin\"]";
            } else if in_origin {
                if let Some((key, value)) = line.split_once('=') {
                    if key.trim() == "url" {
                        return Some(value.trim().trim_matches('"').to_owned());
                    }
                }
            }
        }
        None
    }
}

/// `git@host:owner/repo.git`, `https://host/owner/repo/`, `/srv/repo.git` → `repo`.
pub fn repo_name_from_url(url: &str) -> Option<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let last = trimmed.rsplit(['/', ':', '\\']).next()?;
    let name = last.strip_suffix(".git").unwrap_or(last);
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names_from_urls() {
        for (url, want) in [
            ("git@github.com:owner/hookmeter.git", "hookmeter"),
            ("https://github.com/owner/hookmeter", "hookmeter"),
            ("https://github.com/owner/hookmeter.git/", "hookmeter"),
            ("ssh://git@host:22/srv/x/tool.git", "tool"),
            ("/srv/repos/local.git", "local"),
        ] {
            assert_eq!(repo_name_from_url(url).as_deref(), Some(want), "{url}");
        }
        assert_eq!(repo_name_from_url(""), None);
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn repos_worktrees_and_detached_heads() {
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("myproj");
        write(&main.join(".git/HEAD"), "ref: refs/heads/feature/x#1\n");
        write(&main.join(".git/config"), "[core]\n\tbare = false\n");
        std::fs::create_dir_all(main.join("src/deep")).unwrap();
        let repo = Repo::discover(&main.join("src/deep")).unwrap();
        assert_eq!(repo.branch().as_deref(), Some("feature/x#1"));
        assert_eq!(repo.project_name().as_deref(), Some("myproj"));

        // A linked worktree elsewhere, on a detached HEAD.
        let wt_git = main.join(".git/worktrees/wt");
        write(&wt_git.join("HEAD"), "0123456789abcdef0123456789abcdef01234567\n");
        write(&wt_git.join("commondir"), "../..\n");
        let wt = tmp.path().join("myproj-wt");
        write(&wt.join(".git"), &format!("gitdir: {}\n", wt_git.display()));
        let repo = Repo::discover(&wt).unwrap();
        assert_eq!(repo.branch(), None);
        assert_eq!(repo.project_name().as_deref(), Some("myproj"));

        // origin names the project in every clone.
        write(&main.join(".git/config"), "[remote \"origin\"]\n\turl = git@host:me/real-name.git\n");
        assert_eq!(Repo::discover(&wt).unwrap().project_name().as_deref(), Some("real-name"));

        assert!(Repo::discover(&tmp.path().join("nowhere")).is_none());
    }
}
